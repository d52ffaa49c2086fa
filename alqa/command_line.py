"""Hydra's own command-line errors as alqa's: one line on stderr and exit status 2.

An unknown option (``strategy=entropi``) or a key that is not in the config
(``budget.quta=3``) fails while Hydra composes the config, before any alqa code runs; Hydra
then prints a multi-line report (the options, its config search path, a hint about
HYDRA_FULL_ERROR) and exits with status 1, the status of a crash. :class:`ComposeErrors`
holds stderr while Hydra composes; :class:`ComposedCallback` (a Hydra callback) lets it go as
soon as the config is composed, so nothing of a run's own output is held. If composing fails
instead, the held report is folded into one line and the exit status becomes 2.
``HYDRA_FULL_ERROR=1`` keeps Hydra's full report.

Imported by ``main.py`` before Hydra starts, so it must stay light: no torch.
"""

from __future__ import annotations

import io
import os
import sys
from types import TracebackType
from typing import Any

from hydra.experimental.callback import Callback

#: the exit status of every user error (alqa.app's too)
EXIT_USER_ERROR = 2
#: lines of Hydra's report that say nothing about the user's mistake
_NOISE = ("Set the environment variable HYDRA_FULL_ERROR", "full_key:", "object_type=")


def one_line(report: str) -> str:
    """Hydra's multi-line report as one line: the listed options joined by commas, its
    config search path and hints about its own settings dropped."""
    report = report.split("Config search path:")[0]
    parts: list[str] = []
    for line in report.splitlines():
        if not line.strip() or line.strip().startswith(_NOISE):
            continue
        if line.startswith("\t") and parts:  # one listed option
            separator = " " if parts[-1].endswith(":") else ", "
            parts[-1] += separator + line.strip()
        else:
            parts.append(line.strip())
    return " ".join(part if part.endswith((".", ":")) else part + ";" for part in parts).rstrip(";")


class ComposeErrors:
    """Holds stderr from ``with`` until :meth:`release` (the config is composed)."""

    def __init__(self) -> None:
        self._held: io.StringIO | None = None
        self._stderr: Any = None

    def __enter__(self) -> ComposeErrors:
        if not os.environ.get("HYDRA_FULL_ERROR"):
            self._stderr, self._held = sys.stderr, io.StringIO()
            sys.stderr = self._held
        return self

    def release(self) -> None:
        """Give stderr back, with what was written to it meanwhile (warnings, say)."""
        text = self._give_back()
        if text:
            sys.stderr.write(text)
            sys.stderr.flush()

    def _give_back(self) -> str:
        if self._held is None:
            return ""
        text = self._held.getvalue()
        sys.stderr, self._held = self._stderr, None
        return text

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        composing = self._held is not None
        text = self._give_back()
        if composing and isinstance(error, SystemExit) and error.code == 1 and text.strip():
            print(f"alqa: error: {one_line(text)}", file=sys.stderr)
            raise SystemExit(EXIT_USER_ERROR) from None
        if text:
            sys.stderr.write(text)


#: the one holder of ``main.py``
COMPOSE_ERRORS = ComposeErrors()


class ComposedCallback(Callback):
    """Releases stderr once Hydra has composed the config: a run's, or in a multirun every
    job's (the sweeper composes them all before the first job starts). A job run by another
    process (joblib, SLURM) leaves the sweep's own stderr held until the sweep ends, when
    :class:`alqa.sweep.FailedJobsReport` releases it before its report."""

    def on_run_start(self, config: Any, **kwargs: Any) -> None:
        COMPOSE_ERRORS.release()

    def on_job_start(self, config: Any, **kwargs: Any) -> None:
        COMPOSE_ERRORS.release()

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        COMPOSE_ERRORS.release()
