"""The active-learning run: set up, start or resume the state, run the rounds, save each one.

Round ``r`` trains on the labeled questions, evaluates, then (unless it is the last round)
picks the questions that round ``r+1`` will add (:mod:`alqa.rounds`). The state written at the
end of a round therefore already holds the next labeled set, so a resumed run only has to
retrain: it never needs the previous round's model unless ``train.warm_start`` is on, when
that model is saved too.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from alqa.atomic import atomic_save_torch
from alqa.experiment import Experiment, RunSettings, build_experiment
from alqa.loggers import RunLogger
from alqa.results import results_document, write_results
from alqa.rounds import run_round
from alqa.state import PendingQuery, RunState, StateFormatError, load_state, save_state
from alqa.strategies import build_strategy

log = logging.getLogger(__name__)

MODEL_FILE = "model_last.pt"
#: keys whose change makes a stored run a different experiment (resume refuses it)
IDENTITY_KEYS = ("seed", "dataset", "model", "strategy", "budget", "train", "scoring")


class ResumeError(RuntimeError):
    """The run directory holds a different run; the message says what to do."""


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [d for k in keys for d in differences(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [prefix.rstrip(".")]


def initial_state(experiment: Experiment, config: dict[str, Any], rng) -> RunState:
    """A new run: the initial labeled set, drawn at random by the seed, is the first query."""
    size = experiment.settings.budget.round_sizes()[0]
    initial = rng.choice(len(experiment.pool), size=size, replace=False)
    return RunState(
        config=config,
        pending=PendingQuery(selected_ids=experiment.ids_of(initial)),
        rng_state=rng.bit_generator.state,
    )


class ActiveLearningRun:
    """One AL run in one directory: ``run()`` starts it, or resumes it if it was cut short."""

    def __init__(self, cfg: DictConfig, run_dir: str | Path, logger: RunLogger | None = None):
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.logger = logger or RunLogger()
        self.config = OmegaConf.to_container(cfg, resolve=True)
        self.settings = RunSettings.from_config(cfg)
        self.strategy = build_strategy(cfg.strategy)

    @property
    def planned_rounds(self) -> int:
        return len(self.settings.budget.round_sizes())

    def stored_state(self) -> RunState | None:
        """The state in the run directory, refused if it belongs to another experiment."""
        try:
            state = load_state(self.run_dir)
        except StateFormatError as error:
            raise ResumeError(str(error)) from error
        if state is None:
            return None
        identity = {k: self.config.get(k) for k in IDENTITY_KEYS}
        changed = differences({k: state.config.get(k) for k in IDENTITY_KEYS}, identity)
        if changed:
            raise ResumeError(
                f"{self.run_dir} already holds an alqa run with a different configuration "
                f"(differs in: {', '.join(changed[:8])}). Resume it with its own settings, or "
                "start a new run in another directory (hydra.run.dir=...)."
            )
        return state

    def resume(self, state: RunState, experiment: Experiment, rng) -> RunState:
        """Continue a stored run: same RNG stream, same labeled ids, last model if warm."""
        log.info("resuming %s after round %d", self.run_dir, len(state.rounds) - 1)
        rng.bit_generator.state = state.rng_state
        missing = experiment.unknown_ids(state.labeled_ids + state.pending.selected_ids)
        if missing:
            raise ResumeError(
                f"stored labeled ids are not in the pool (e.g. {missing[:3]}); "
                "the dataset changed since this run started"
            )
        if self.settings.train.warm_start and state.rounds:
            weights = torch.load(self.run_dir / MODEL_FILE, map_location=experiment.device)
            experiment.model.load_state_dict(weights)
        return state

    def save(self, state: RunState, experiment: Experiment) -> dict[str, Any]:
        """Write the round's state and results atomically (and the model for warm starts)."""
        if self.settings.train.warm_start and not state.finished:
            atomic_save_torch(self.run_dir / MODEL_FILE, experiment.model.state_dict())
        save_state(self.run_dir, state)
        results = results_document(state, self.planned_rounds)
        write_results(self.run_dir, results)
        return results

    def run(self) -> dict[str, Any]:
        state = self.stored_state()
        if state is not None and state.finished:
            log.info("%s holds a finished run; leaving it as it is", self.run_dir)
            return results_document(state, self.planned_rounds)
        experiment = build_experiment(self.cfg, self.settings, self.strategy)
        rng = np.random.default_rng(self.settings.seed)
        if state is None:
            state = initial_state(experiment, self.config, rng)
        else:
            state = self.resume(state, experiment, rng)
        state.wandb_run_id = self.logger.start(
            self.config, self.run_dir, state.wandb_run_id, history=state.rounds
        )
        sizes = self.settings.budget.round_sizes()
        results = results_document(state, self.planned_rounds)
        for round_number in range(len(state.rounds), len(sizes)):
            next_size = sizes[round_number + 1] if round_number + 1 < len(sizes) else None
            run_round(experiment, state, rng, next_size, report=self.logger.log_round)
            results = self.save(state, experiment)
        self.finish(results)
        return results

    def finish(self, results: dict[str, Any]) -> None:
        """Drop the warm-start checkpoint and close the logger with the run's summary."""
        (self.run_dir / MODEL_FILE).unlink(missing_ok=True)
        last = results["rounds"][-1]
        self.logger.finish(
            {
                "final_em": last.get("em"),
                "final_f1": last.get("f1"),
                "final_n_labeled": last["n_labeled"],
                "aubc_em": results["aubc_em"],
                "aubc_f1": results["aubc_f1"],
            }
        )
