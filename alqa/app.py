"""From a composed Hydra config to a finished AL run, with user errors reported plainly.

A single run stops on an error: a user error (bad budget, missing file, unknown strategy...)
prints one line and exits with status 2, anything else raises with its traceback. A job of a
multirun (``python main.py -m ...``) instead records the error in ``failed.json`` and returns,
so the sweep goes on; :class:`alqa.sweep.FailedJobsReport` reports it at the end.

A run that waits for an annotation team's labels (``oracle=label_studio``) prints what to do
and exits with status 3 (:data:`EXIT_WAITING`), so a script can tell "waiting" from
"finished" (0) and "error" (2); a multirun job that waits just logs it.
"""

from __future__ import annotations

import errno
import logging
import shutil
import sys
from pathlib import Path
from typing import TypeGuard

import hydra
from omegaconf import DictConfig

from alqa import sweep
from alqa.command_line import EXIT_USER_ERROR
from alqa.data import DatasetError
from alqa.loggers import RunLogger
from alqa.oracle import OracleError
from alqa.report import rounds_table
from alqa.run_settings import RunSettings
from alqa.settings import ConfigError
from alqa.state import ResumeError

log = logging.getLogger(__name__)

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C

#: errors caused by the user's input: reported in one message, no traceback
USER_ERRORS = (
    ConfigError,  # includes BudgetError, UnknownStrategyError and ModelNotFoundError
    DatasetError,
    ResumeError,
    OracleError,  # unusable annotations, an unreachable annotation server
    FileNotFoundError,
)

#: the exit status of a run that saved its state and waits for labels
EXIT_WAITING = 3


#: what a full disk, a quota or a folder alqa may not write to raise: the user's to fix
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS, errno.EPERM})


def is_storage_error(error: BaseException) -> TypeGuard[OSError]:
    return isinstance(error, OSError) and error.errno in STORAGE_ERRNOS


def is_user_error(error: BaseException) -> bool:
    """Errors the user fixes by changing the command line (or the disk), not the code."""
    return isinstance(error, USER_ERRORS) or is_storage_error(error)


def user_message(error: BaseException) -> str:
    """The one line for a user error; a storage error says where and that rounds are kept
    (every file is written atomically, so the last saved round is whole)."""
    if not is_storage_error(error):
        return str(error)
    where = error.filename or "the run folder"
    return (
        f"cannot write {where}: {error.strerror}; free space or fix its permissions and rerun "
        "the same command (finished rounds are kept), or choose another hydra.run.dir="
    )


def record_in_log_files(message: str) -> None:
    """An error in the run's log file only: the console gets it once, as ``alqa: error:``."""
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, message, None, None)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def remove_if_untouched(run_dir: Path) -> None:
    """Remove the folder Hydra made for a run that stopped before it did anything (it holds
    only Hydra's copy of the config and the log), and its parents that this left empty, up to
    the working directory: a typo leaves no empty run behind. Anything else in it keeps it."""
    hydra_files = run_dir / ".hydra"
    if not hydra_files.is_dir() or any(p.suffix != ".yaml" for p in hydra_files.iterdir()):
        return
    if any(p.name != ".hydra" and p.suffix != ".log" for p in run_dir.iterdir()):
        return
    try:
        shutil.rmtree(run_dir)
        folder, top = run_dir.resolve().parent, Path.cwd().resolve()
        while folder != top and top in folder.parents and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    except OSError:  # an open log file on Windows, say: leaving the folder is harmless
        pass


def run_dir_of_job() -> Path:
    """The Hydra output directory of the current job (run or multirun)."""
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def interrupted(run_dir: Path, multirun: bool) -> int:
    """Ctrl-C: one line on how to go on instead of a traceback; the rounds already finished
    are on disk (the state is saved at the end of every round). Returns the shell's 130."""
    again = f"hydra.sweep.dir={run_dir.parent}" if multirun else f"hydra.run.dir={run_dir}"
    message = f"interrupted; rerun the command with {again} to resume (finished rounds are kept)"
    record_in_log_files(message)
    print(f"alqa: {message}", file=sys.stderr)
    return EXIT_INTERRUPTED


def run_from_config(cfg: DictConfig, run_dir: Path | None = None) -> float | None:
    """Run (or resume) one AL run; returns its F1 AUBC, for sweepers that optimise it.

    In a multirun a failed job returns None after writing ``failed.json``.
    """
    chosen_sweep = sweep.chosen_sweep()
    run_dir = Path(run_dir or run_dir_of_job())
    if chosen_sweep and not sweep.is_multirun():
        print(
            f"alqa: error: sweep={chosen_sweep} is a multirun; add -m: "
            f"python main.py -m sweep={chosen_sweep} ...",
            file=sys.stderr,
        )
        remove_if_untouched(run_dir)
        raise SystemExit(EXIT_USER_ERROR)
    multirun = sweep.is_multirun()
    if multirun:
        sweep.clear_failure(run_dir)
    logger: RunLogger | None = None
    try:
        with sweep.job_resources(str(cfg.train.get("device", "auto"))):
            RunSettings.from_config(cfg)  # a bad value answers before torch is imported
            from alqa.loop import ActiveLearningRun

            logger = hydra.utils.instantiate(cfg.logger, _convert_="all")
            results = ActiveLearningRun(cfg, run_dir, logger).run()
    except Exception as error:
        if logger is not None:
            logger.abort(error)
        if multirun:
            path = sweep.record_failure(run_dir, error)
            log.error(
                "job failed: %s: %s (details in %s); the sweep goes on",
                type(error).__name__,
                user_message(error),
                path,
                exc_info=not is_user_error(error),
            )
            return None
        if is_user_error(error):
            message = user_message(error)
            record_in_log_files(message)
            print(f"alqa: error: {message}", file=sys.stderr)
            remove_if_untouched(run_dir)
            raise SystemExit(EXIT_USER_ERROR) from None
        raise
    except BaseException as error:  # KeyboardInterrupt, SystemExit: close the tracker too
        if logger is not None:
            logger.abort(error)
        if isinstance(error, KeyboardInterrupt):
            raise SystemExit(interrupted(run_dir, multirun)) from None
        raise
    if results["rounds"]:
        print(rounds_table(results))
    print(f"alqa: results in {run_dir / 'results.json'}")
    if results.get("waiting"):  # the loop has logged it
        print(f"alqa: {results['waiting']['message']}")
        if not multirun:
            raise SystemExit(EXIT_WAITING)
    return results.get("aubc_f1")
