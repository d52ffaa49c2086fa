"""Experiment loggers: Weights & Biases (online or offline) and a no-op one.

The AL loop talks to a logger through four calls, so a run can be logged elsewhere by writing
one small class and one YAML file in ``conf/logger/``.
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class RunLogger:
    """Does nothing; the base of every logger (``logger=none``)."""

    def start(self, config: dict[str, Any], run_dir: Path, resume_id: str | None) -> str | None:
        """Open the run (resuming ``resume_id`` if given); returns an id to store for resume."""
        return None

    def log_round(self, record: dict[str, Any]) -> None:
        """Log one finished round (keys as in results.json's ``rounds``)."""

    def finish(self, summary: dict[str, Any]) -> None:
        """Write the summary (final EM/F1, AUBC) and close the run."""


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
    return netrc.is_file() and "api.wandb.ai" in netrc.read_text(errors="ignore")


class WandbLogger(RunLogger):
    """One W&B run per AL run; x-axis = labeled questions.

    ``mode=None`` decides by itself: ``WANDB_MODE`` if set, else online only with an API key
    and a reachable server, else offline (``wandb sync`` uploads it later).
    """

    def __init__(
        self,
        project: str = "alqa",
        entity: str | None = None,
        group: str | None = None,
        job_type: str | None = None,
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

    def _decide_mode(self) -> str:
        if self.mode:
            return self.mode
        if os.environ.get("WANDB_MODE"):
            return os.environ["WANDB_MODE"]
        if not _has_api_key():
            print("wandb: no API key found, logging offline; upload later with `wandb sync <dir>`")
            return "offline"
        if not _wandb_reachable():
            print(
                "wandb: server unreachable, logging offline; upload later with `wandb sync <dir>`"
            )
            return "offline"
        return "online"

    def start(self, config: dict[str, Any], run_dir: Path, resume_id: str | None) -> str | None:
        import wandb

        mode = self._decide_mode()
        self._run = wandb.init(
            project=self.project,
            entity=self.entity,
            group=self.group,
            job_type=self.job_type,
            tags=self.tags or None,
            name=self.name,
            config=config,
            dir=str(run_dir),
            mode=mode,
            id=resume_id,
            resume="allow" if resume_id else None,
        )
        self._run.define_metric("n_labeled")
        self._run.define_metric("*", step_metric="n_labeled")
        return self._run.id

    def log_round(self, record: dict[str, Any]) -> None:
        if self._run is None:
            return
        scalars = {k: v for k, v in record.items() if isinstance(v, int | float)}
        self._run.log(scalars)
        if self.log_selected_ids and record.get("selected_ids"):
            import wandb

            table = wandb.Table(columns=["round", "n_labeled", "question_id"])
            for question_id in record["selected_ids"]:
                table.add_data(record["round"], record["n_labeled"], question_id)
            self._run.log({f"selected_ids/round_{record['round']}": table})

    def finish(self, summary: dict[str, Any]) -> None:
        if self._run is None:
            return
        for key, value in summary.items():
            self._run.summary[key] = value
        self._run.finish()
        self._run = None
