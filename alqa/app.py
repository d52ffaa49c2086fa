"""From a composed Hydra config to a finished AL run, with user errors reported plainly."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig

from alqa.budget import BudgetError
from alqa.data import DatasetError
from alqa.loop import ActiveLearningRun, ResumeError
from alqa.modeling import ModelNotFoundError

log = logging.getLogger(__name__)

#: errors caused by the user's input: reported in one message, no traceback
USER_ERRORS = (BudgetError, DatasetError, ModelNotFoundError, ResumeError, FileNotFoundError)


def run_dir_of_job() -> Path:
    """The Hydra output directory of the current job (run or multirun)."""
    from hydra.core.hydra_config import HydraConfig

    return Path(HydraConfig.get().runtime.output_dir)


def run_from_config(cfg: DictConfig, run_dir: Path | None = None) -> float | None:
    """Run (or resume) one AL run; returns its F1 AUBC, for sweepers that optimise it."""
    run_dir = run_dir or run_dir_of_job()
    try:
        logger = hydra.utils.instantiate(cfg.logger, _convert_="all")
        results = ActiveLearningRun(cfg, run_dir, logger).run()
    except USER_ERRORS as error:
        log.error("%s", error)
        print(f"alqa: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except ValueError as error:
        if "unknown strategy" in str(error):
            print(f"alqa: error: {error}", file=sys.stderr)
            raise SystemExit(2) from None
        raise
    print(f"alqa: results in {run_dir / 'results.json'}")
    return results.get("aubc_f1")
