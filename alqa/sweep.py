"""Multirun support: a failed job is recorded and reported, the other jobs go on.

Hydra's basic sweeper stops at the first job that raises, so a typo in one swept value or one
job running out of memory would cost the rest of a 48-run sweep. Instead, in multirun mode
:func:`alqa.app.run_from_config` catches the job's exception and writes ``failed.json`` in the
job's directory; :class:`FailedJobsReport` (a Hydra callback, ``hydra.callbacks`` in
``conf/config.yaml``) lists those files when the sweep ends and makes the exit status 1.
Reading the files rather than the jobs' return values works for every launcher, including
joblib workers and SLURM jobs, whose return values never reach the callback process.

This module is imported by Hydra at start-up (for the callback), so it must stay light: no
torch at import time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from hydra.experimental.callback import Callback

from alqa.atomic import atomic_write_json
from alqa.command_line import COMPOSE_ERRORS

log = logging.getLogger(__name__)

FAILED_FILE = "failed.json"
#: exit status of a multirun with failed jobs (a single failed run keeps its own: 2 or 1)
FAILED_EXIT_STATUS = 1
#: a failed.json older than the sweep's start (minus this slack for coarse file-system clocks)
#: belongs to an earlier attempt and is not reported
_MTIME_SLACK_S = 2.0


def hydra_config() -> Any | None:
    """The running Hydra config, or None outside a Hydra app (e.g. a direct call in a test)."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def is_multirun() -> bool:
    """True inside a job of ``python main.py -m ...``."""
    from hydra.types import RunMode

    hydra_cfg = hydra_config()
    return hydra_cfg is not None and hydra_cfg.mode == RunMode.MULTIRUN


def chosen_sweep() -> str | None:
    """The ``sweep=<name>`` option of this run, if any."""
    from omegaconf import OmegaConf

    hydra_cfg = hydra_config()
    if hydra_cfg is None:
        return None
    return OmegaConf.select(hydra_cfg, "runtime.choices.sweep", default=None)


def job_description() -> dict[str, Any]:
    """Which job this is: number, overrides and directories (empty outside Hydra)."""
    from omegaconf import OmegaConf

    hydra_cfg = hydra_config()
    if hydra_cfg is None:
        return {}

    def get(key: str) -> Any:  # None for a value Hydra has not filled in (e.g. compose API)
        value = OmegaConf.select(hydra_cfg, key, default=None)
        return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value

    description = {
        "overrides": get("overrides.task") or [],
        "output_dir": get("runtime.output_dir"),
    }
    if is_multirun():
        description.update(num=get("job.num"), sweep_dir=get("sweep.dir"))
    return description


def record_failure(run_dir: str | Path, error: BaseException) -> Path:
    """Write ``failed.json`` (error type, message, traceback, job) in the job's directory."""
    path = Path(run_dir) / FAILED_FILE
    record = {
        "error_type": type(error).__name__,
        "message": str(error),
        "traceback": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
        "job": job_description(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    atomic_write_json(path, record, default=str)
    return path


def clear_failure(run_dir: str | Path) -> None:
    """Forget the failure of an earlier attempt of this job (it is being run again)."""
    (Path(run_dir) / FAILED_FILE).unlink(missing_ok=True)


@dataclass(frozen=True)
class FailedJob:
    path: Path
    record: dict[str, Any]

    def label(self, common: Collection[str] = ()) -> str:
        """``job <num> [<overrides>]``, leaving out those shared by every job (``common``)."""
        job = self.record.get("job") or {}
        overrides = " ".join(o for o in job.get("overrides") or [] if o not in set(common))
        num = job.get("num")
        return f"job {num} [{overrides}]" if num is not None else str(self.path.parent)


def find_failures(sweep_dir: str | Path, since: float | None = None) -> list[FailedJob]:
    """The ``failed.json`` files under a sweep directory written after ``since`` (epoch s)."""
    root = Path(sweep_dir)
    if not root.is_dir():
        return []
    failures = []
    for path in sorted(root.rglob(FAILED_FILE)):
        if since is not None and path.stat().st_mtime < since - _MTIME_SLACK_S:
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            record = {"error_type": "unreadable failed.json", "message": str(path)}
        failures.append(FailedJob(path, record))
    failures.sort(key=lambda f: (f.record.get("job") or {}).get("num") or 0)
    return failures


def count_jobs(sweep_dir: str | Path, since: float | None = None) -> int | None:
    """Jobs started in this sweep, from the ``.hydra/overrides.yaml`` Hydra writes per job."""
    root = Path(sweep_dir)
    if not root.is_dir():
        return None
    found = [
        p
        for p in root.rglob("overrides.yaml")
        if p.parent.name == ".hydra"
        and (since is None or p.stat().st_mtime >= since - _MTIME_SLACK_S)
    ]
    return len(found) or None


def failure_summary(
    failures: list[FailedJob], total: int | None, common: Collection[str] = ()
) -> str:
    """The lines printed at the end of a multirun with failed jobs (``common``: overrides
    shared by all jobs, left out of each job's label)."""
    of_total = f" of {total}" if total else ""
    lines = [f"alqa: {len(failures)}{of_total} multirun jobs failed:"]
    for failure in failures:
        record = failure.record
        message = str(record.get("message", "")).strip().splitlines() or [""]
        lines.append(f"  {failure.label(common)}: {record.get('error_type')}: {message[0]}")
        lines.append(f"    details: {failure.path}")
    return "\n".join(lines)


class FailedJobsReport(Callback):
    """At the end of a multirun, print the jobs that failed and exit with status 1."""

    def __init__(self, exit_on_failure: bool = True) -> None:
        self.exit_on_failure = exit_on_failure
        self._started: float | None = None

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        self._started = time.time()

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        COMPOSE_ERRORS.release()  # its exit status 1 is no composing error
        sweep_dir = Path(str(config.hydra.sweep.dir))
        failures = find_failures(sweep_dir, self._started)
        if not failures:
            return
        common = [str(o) for o in config.hydra.overrides.task]  # the command line's own
        total = count_jobs(sweep_dir, self._started)
        print(failure_summary(failures, total, common), file=sys.stderr)
        sys.stderr.flush()
        if self.exit_on_failure:
            # SystemExit passes through Hydra's callback wrapper (it only catches Exception)
            raise SystemExit(FAILED_EXIT_STATUS)


# ------------------------------------------------------------------ parallel jobs (joblib)


def _launcher_target() -> str:
    hydra_cfg = hydra_config()
    if hydra_cfg is None:
        return ""
    return str(hydra_cfg.launcher.get("_target_", ""))


def runs_in_local_pool() -> bool:
    """True when jobs run side by side on this machine (the joblib launcher)."""
    return is_multirun() and "joblib" in _launcher_target().lower()


def claim_slot(lock_dir: str | Path, n_slots: int, preferred: int = 0) -> tuple[int, IO | None]:
    """Claim one of ``n_slots`` (GPUs) with an exclusive file lock, trying ``preferred`` first.

    The lock lives as long as the returned handle (or the process): a job that crashes frees
    its GPU by itself. When every slot is taken (more parallel jobs than GPUs) the preferred
    slot is shared and the handle is None.
    """
    import fcntl  # POSIX only; imported here so the callback also loads elsewhere

    folder = Path(lock_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for offset in range(n_slots):
        slot = (preferred + offset) % n_slots
        handle = open(folder / f"gpu{slot}.lock", "w")  # held until the job ends
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        handle.write(str(os.getpid()))
        handle.flush()
        return slot, handle
    return preferred % n_slots, None


@contextlib.contextmanager
def job_resources(device: str = "auto", lock_dir: str | Path | None = None) -> Iterator[int | None]:
    """Give a job of a local parallel sweep a GPU of its own; yields the GPU index or None.

    joblib's worker processes are reused between jobs, so setting ``CUDA_VISIBLE_DEVICES``
    per job would not work once a worker has touched CUDA; instead the job claims a free GPU
    and makes it torch's current device, which ``train.device=auto`` ("cuda") then uses. The
    config is left untouched, so a resumed job may land on another GPU. An explicit
    ``device`` (``train.device=cuda:1``) is left to the user.
    """
    if device != "auto" or not runs_in_local_pool():
        yield None
        return
    import torch

    n_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n_gpus < 2:
        yield None
        return
    hydra_cfg = hydra_config()
    lock_dir = lock_dir or Path(str(hydra_cfg.sweep.dir)) / ".gpu_locks"
    slot, handle = claim_slot(lock_dir, n_gpus, preferred=int(hydra_cfg.job.num or 0))
    torch.cuda.set_device(slot)
    log.info("job %s uses GPU %d of %d", hydra_cfg.job.num, slot, n_gpus)
    try:
        yield slot
    finally:
        if handle is not None:
            handle.close()
