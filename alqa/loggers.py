"""Experiment loggers: Weights & Biases (online or offline) and a no-op one.

The AL loop talks to a logger through four calls (``start``, ``log_round``, ``finish``, and
``abort`` from :mod:`alqa.app` when a run fails), so a run can be logged elsewhere by writing
one small class and one YAML file in ``conf/logger/``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: the x-axis of every per-round metric: labeled questions, not W&B's own step counter
X_AXIS = "n_labeled"


class RunLogger:
    """Does nothing; the base of every logger (``logger=none``)."""

    def start(
        self,
        config: dict[str, Any],
        run_dir: Path,
        resume_id: str | None,
        history: list[dict[str, Any]] | None = None,
    ) -> str | None:
        """Open the run (resuming ``resume_id`` if given); returns an id to store for resume.

        ``history`` holds the rounds an interrupted run already finished, for trackers that
        cannot append to the earlier part of the run (they log them again).
        """
        return None

    def log_round(self, record: dict[str, Any]) -> None:
        """Log one finished round (keys as in results.json's ``rounds``)."""

    def finish(self, summary: dict[str, Any]) -> None:
        """Write the summary (final EM/F1, AUBC) and close the run."""

    def pause(self) -> None:
        """Close the run while it waits for labels; ``start`` with its id resumes it."""

    def abort(self, error: BaseException) -> None:
        """Close the run after ``error`` stopped it (a no-op if it was never started)."""


def _wandb_reachable(timeout: float = 2.0) -> bool:
    host = os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai").split("://")[-1].split("/")[0]
    try:
        with socket.create_connection((host.split(":")[0], 443), timeout=timeout):
            return True
    except OSError:
        return False


def _has_api_key() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    netrc = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")
    except OSError:
        return False


#: the automatic decision, made once per process: a sequential sweep runs many jobs in one
#: process and should neither probe the server nor print the offline notice for each of them
_decided_mode: str | None = None


def decide_mode(mode: str | None = None) -> str:
    """``mode`` if given, else ``WANDB_MODE``, else online only with an API key and a
    reachable server; otherwise offline, announced by one printed line."""
    global _decided_mode
    if mode:
        return mode
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if _decided_mode is None:
        if not _has_api_key():
            reason = "no API key found"
        elif not _wandb_reachable():
            reason = "server unreachable"
        else:
            reason = None
        if reason:
            print(
                f"wandb: {reason}, logging offline; "
                "upload later: wandb sync <run dir>/wandb/latest-run"
            )
        _decided_mode = "offline" if reason else "online"
    return _decided_mode


def default_group(config: dict[str, Any]) -> str:
    """The W&B group: the sweep in a multirun (its seeds and strategies together), else
    ``<dataset>-<model>``."""
    from alqa.sweep import hydra_config, is_multirun

    if is_multirun():
        sweep_dir = Path(str(hydra_config().sweep.dir))
        try:
            parts = sweep_dir.resolve().relative_to(Path.cwd().resolve()).parts
        except ValueError:
            parts = sweep_dir.parts[-2:]
        if len(parts) > 1 and parts[0] == "multirun":
            parts = parts[1:]
        return "-".join(p for p in parts if p not in ("", "/"))[-128:]
    dataset = (config.get("dataset") or {}).get("name", "data")
    model = (config.get("model") or {}).get("name", "model")
    return f"{dataset}-{model}"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class WandbLogger(RunLogger):
    """One W&B run per AL run (dataset, model, strategy, seed); x-axis = labeled questions.

    ``group=None`` groups the runs of a sweep together (see :func:`default_group`), so the
    dashboard can aggregate seeds by grouping on ``strategy.name``. ``mode=None`` decides by
    itself (:func:`decide_mode`). Per round it logs EM, F1, loss and phase timings against
    ``n_labeled``; at the end the summary holds final EM/F1 and the AUBCs, and an artifact
    holds results.json plus a table of the questions selected in each round.
    """

    def __init__(
        self,
        project: str = "alqa",
        entity: str | None = None,
        group: str | None = None,
        job_type: str | None = "active-learning",
        tags: list[str] | None = None,
        name: str | None = None,
        mode: str | None = None,
        log_selected_ids: bool = True,
    ) -> None:
        self.project = project
        self.entity = entity
        self.group = group
        self.job_type = job_type
        self.tags = list(tags or [])
        self.name = name
        self.mode = mode
        self.log_selected_ids = log_selected_ids
        self._run = None
        self._run_dir: Path | None = None

    def start(
        self,
        config: dict[str, Any],
        run_dir: Path,
        resume_id: str | None,
        history: list[dict[str, Any]] | None = None,
    ) -> str | None:
        import wandb

        from alqa.sweep import job_description

        config = dict(config)
        job = job_description()
        if job:
            config["hydra"] = job  # overrides and job number, to filter runs in the dashboard
        self._run_dir = Path(run_dir)
        self._run = wandb.init(
            project=self.project,
            entity=self.entity,
            group=self.group or default_group(config),
            job_type=self.job_type,
            tags=self.tags or None,
            name=self.name,
            config=config,
            dir=str(run_dir),
            mode=decide_mode(self.mode),
            id=resume_id,
            resume="allow" if resume_id else None,
        )
        self._run.define_metric(X_AXIS)
        self._run.define_metric("*", step_metric=X_AXIS)
        if history and not self._run.resumed:
            self._replay(history)
        return self._run.id

    def _replay(self, history: list[dict[str, Any]]) -> None:
        """Log the rounds of the interrupted part again, in this run.

        W&B resumes only online runs that the server already has; an offline run (or an online
        one whose first part never reached the server) starts a new directory with the same id,
        and syncing two offline directories of one id overwrites rather than appends. Replaying
        from results.json makes the newest directory hold every round exactly once, so syncing
        that one directory (``wandb/latest-run``) uploads the whole curve.
        """
        log.info("W&B: replaying %d finished round(s) into the resumed run", len(history))
        for record in history:
            self.log_round(record)

    def log_round(self, record: dict[str, Any]) -> None:
        if self._run is None:
            return
        scalars = {k: v for k, v in record.items() if _is_number(v)}
        for key, value in record.items():  # intervals, e.g. f1_ci: [lo, hi] → f1_ci_low/high
            if isinstance(value, list | tuple) and len(value) == 2 and all(map(_is_number, value)):
                scalars[f"{key}_low"], scalars[f"{key}_high"] = value
        self._run.log(scalars)

    def _selected_rounds(self) -> list[dict[str, Any]]:
        """Every round so far, from results.json: complete even after a resume."""
        path = self._run_dir / "results.json" if self._run_dir else None
        if path is None or not path.is_file():
            return []
        try:
            return json.loads(path.read_text()).get("rounds", [])
        except (OSError, ValueError):
            return []

    def _log_selection(self) -> None:
        """One artifact: results.json and a (round, n_labeled, question_id) table."""
        import wandb

        rounds = self._selected_rounds()
        if not self.log_selected_ids or not rounds:
            return
        table = wandb.Table(columns=["round", X_AXIS, "question_id"])
        for record in rounds:
            for question_id in record.get("selected_ids", []):
                table.add_data(record["round"], record[X_AXIS], question_id)
        artifact = wandb.Artifact(f"selected-questions-{self._run.id}", type="al-selection")
        artifact.add(table, "selected_questions")
        artifact.add_file(str(self._run_dir / "results.json"))
        self._run.log_artifact(artifact)

    def finish(self, summary: dict[str, Any]) -> None:
        if self._run is None:
            return
        try:
            for key, value in summary.items():
                self._run.summary[key] = value
            try:
                self._log_selection()
            except Exception:  # results.json has it all; a finished AL run must not fail here
                log.exception("could not log the selected questions to W&B")
        finally:
            self._run.finish()
            self._run = None

    def pause(self) -> None:
        if self._run is not None:
            self._run.finish()
            self._run = None

    def abort(self, error: BaseException) -> None:
        if self._run is None:
            return
        try:
            self._run.summary["failed"] = True
            self._run.summary["error"] = f"{type(error).__name__}: {error}"[:500]
            self._log_selection()
        except Exception:  # the original error matters more than a logging one
            log.exception("could not log the failure to W&B")
        finally:
            self._run.finish(exit_code=1)
            self._run = None
