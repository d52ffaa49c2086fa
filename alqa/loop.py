"""The active-learning run: set up, start or resume the state, run the rounds, save each one.

Round ``r`` trains on the labeled questions, evaluates, then (unless it is the last round)
picks the questions that round ``r+1`` will add (:mod:`alqa.rounds`). The state written at the
end of a round therefore already holds the next labeled set, so a resumed run only has to
retrain: it never needs the previous round's model unless ``train.warm_start`` is on, when
that model is saved too.

Who labels a round's questions is the oracle's business (:mod:`alqa.oracle`): they are handed
over (``request``) right after they are picked, while the model that picked them can still
pre-annotate them, and before the state is saved, so a killed run asks again with the same
picks. Before a round trains, its labels are collected; an annotation team's oracle may not
have them yet, and then the run saves its state as waiting and returns; the same command
later collects them and goes on. The oracle's answers are kept in the state and revealed
again on resume.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from alqa.atomic import atomic_save_torch, read_json
from alqa.budget import PLAN_KEYS, Budget, replan_problem
from alqa.experiment import Experiment, build_experiment
from alqa.loggers import RunLogger
from alqa.oracle import OracleError, Question, Waiting, build_oracle
from alqa.oracle.predictions import best_predictions
from alqa.oracle.reveal import reveal_answers
from alqa.results import RESULTS_FILE, results_document, write_results
from alqa.rounds import run_round
from alqa.run_settings import RunSettings
from alqa.settings import EXECUTION_KEYS
from alqa.state import (
    PendingQuery,
    ResumeError,
    RunState,
    StateFormatError,
    load_state,
    save_state,
)
from alqa.strategies import build_strategy

log = logging.getLogger(__name__)

MODEL_FILE = "model_last.pt"
#: keys whose change makes a stored run a different experiment (resume refuses it)
IDENTITY_KEYS = ("seed", "dataset", "model", "strategy", "budget", "train", "scoring")


def differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested configs."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [d for k in keys for d in differences(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [prefix.rstrip(".")]


def identity(config: dict[str, Any]) -> dict[str, Any]:
    """What makes a run the same experiment: IDENTITY_KEYS and which oracle labels it (not
    where it is reached: a server may move between two rounds); no oracle means gold. The
    budget's plan (initial, per_round, quota) is checked by round instead: see
    :func:`alqa.budget.replan_problem`; ``train.device`` may change between sessions. Whether
    the oracle offers "No answer" is part of it: it changes what the model is taught."""
    found = {k: config.get(k) for k in IDENTITY_KEYS}
    budget = found["budget"] or {}
    found["budget"] = {k: v for k, v in budget.items() if k not in PLAN_KEYS}
    train = found["train"] or {}
    found["train"] = {k: v for k, v in train.items() if k not in EXECUTION_KEYS}
    oracle = config.get("oracle") or {}
    found["oracle"] = {"name": oracle.get("name", "gold"), "no_answer": oracle.get("no_answer")}
    return found


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
        self.oracle = build_oracle(cfg.get("oracle"), self.run_dir)

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
        changed = differences(identity(state.config), identity(self.config))
        if changed:
            raise ResumeError(
                f"{self.run_dir} already holds an alqa run with a different configuration "
                f"(differs in: {', '.join(changed[:8])}). Resume it with its own settings, or "
                "start a new run in another directory (hydra.run.dir=...)."
            )
        self.check_plan(state)
        self.adopt_execution_settings(state)
        self.settle_model_file(state)  # only for a run this command may go on with
        return state

    def adopt_execution_settings(self, state: RunState) -> None:
        """Take this session's ``train.device`` (where the run goes, not what it computes),
        so its results name where it ran last."""
        old_train = state.config.get("train") or {}
        new_train = self.config["train"]
        changed = [k for k in EXECUTION_KEYS if old_train.get(k) != new_train.get(k)]
        if changed:
            now = ", ".join(f"train.{k}={new_train.get(k)}" for k in changed)
            log.info("%s: resuming with %s", self.run_dir, now)
            adopted = {k: new_train.get(k) for k in changed}
            state.config = {**state.config, "train": {**old_train, **adopted}}

    def check_plan(self, state: RunState) -> None:
        """Refuse a budget that would have picked the rounds so far differently; else adopt
        it, so a larger quota extends the run (a finished one too, see ``run``)."""
        picked = len(state.rounds) + (0 if state.finished else 1)
        old = Budget.from_config(state.config["budget"])
        problem = replan_problem(old, self.settings.budget, picked)
        if problem is not None:
            raise ResumeError(
                f"{self.run_dir} holds an alqa run that cannot take this budget: {problem}"
            )
        state.config = {**state.config, "budget": self.config["budget"]}

    def reopen(self, state: RunState) -> None:
        """Run a finished run's last round again, so it goes on querying (the quota grew)."""
        if state.last_round_start is None:
            raise ResumeError(
                f"{self.run_dir} holds a run that finished before alqa kept what its last round "
                "started from, so a larger budget.quota cannot extend it with the same picks: "
                "start a new run in another directory (hydra.run.dir=...)"
            )
        needs_model = self.settings.train.warm_start and len(state.rounds) > 1
        if needs_model and not (self.run_dir / MODEL_FILE).exists():
            raise ResumeError(
                f"{self.run_dir / MODEL_FILE} is gone, and this warm-started run's last round "
                "starts from it: a larger budget.quota needs a new run (hydra.run.dir=...)"
            )
        log.info(
            "%s: budget.quota is now %d; its last round runs again, then the run goes on",
            self.run_dir,
            self.settings.budget.quota,
        )
        state.reopen_last_round()

    def resume(self, state: RunState, experiment: Experiment, rng) -> RunState:
        """Continue a stored run: same RNG stream, same labeled ids, last model if warm."""
        log.info("resuming %s at round %d", self.run_dir, len(state.rounds))
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
        reveal_answers(experiment, state.answers)
        return state

    def request(self, round_number: int, state: RunState, experiment: Experiment) -> None:
        """Hand the pending questions to the oracle, pre-annotated by the current model."""
        pending = state.pending
        if pending.requested or state.finished:
            return
        predictions = None
        if self.oracle.wants_predictions:
            predictions = best_predictions(experiment, pending.selected_ids)
        questions = self.questions(pending.selected_ids, experiment)
        self.oracle.request(round_number, questions, predictions, state.oracle)
        pending.requested = True

    @staticmethod
    def questions(question_ids: list[str], experiment: Experiment) -> list[Question]:
        rows = [experiment.pool[int(i)] for i in experiment.indices_of(question_ids)]
        return [Question(r["id"], r["question"], r["context"]) for r in rows]

    def collect(self, round_number: int, state: RunState, experiment: Experiment) -> Waiting | None:
        """The pending questions' labels, revealed to the model; ``Waiting`` if not there yet."""
        pending = state.pending
        labels = self.oracle.collect(
            round_number, self.questions(pending.selected_ids, experiment), state.oracle
        )
        if isinstance(labels, Waiting):
            return labels
        if round_number == 0 and len(labels.skipped) == len(pending.selected_ids):
            raise OracleError(
                "every task of round 0 was skipped, so there is nothing to train on; label "
                "some of them, then run the same command again"
            )
        reveal_answers(experiment, labels.answers)
        state.answers.update(labels.answers)
        pending.skipped_ids = [q for q in pending.selected_ids if q in set(labels.skipped)]
        state.waiting = None
        return None

    def wait(self, state: RunState, waiting: Waiting, experiment: Experiment) -> dict[str, Any]:
        """Save the run as waiting for labels; the next run of the same command resumes it."""
        state.waiting = {"round": len(state.rounds), "message": waiting.message}
        log.info("waiting for labels: %s", waiting.message)
        results = self.save(state, experiment)
        self.logger.pause()
        return results

    def save(self, state: RunState, experiment: Experiment) -> dict[str, Any]:
        """Write the round's state and results atomically (and the model for warm starts).

        The model goes first to a file named for the state it belongs to, and takes the name
        ``model_last.pt`` only once that state is on disk: a kill in between must not leave
        a newer model beside an older state (the round would be retrained from its own end).
        """
        model_of_state = self.run_dir / f"{MODEL_FILE}.round{len(state.rounds)}"
        if self.settings.train.warm_start and not state.finished:
            atomic_save_torch(model_of_state, experiment.model.state_dict())
        save_state(self.run_dir, state)
        if model_of_state.exists():
            os.replace(model_of_state, self.run_dir / MODEL_FILE)
        results = results_document(state, self.planned_rounds)
        write_results(self.run_dir, results)
        return results

    def settle_model_file(self, state: RunState) -> None:
        """Finish a save a kill interrupted: a model saved for the stored state becomes
        ``model_last.pt``; one saved for a state that never reached the disk is dropped."""
        for saved in self.run_dir.glob(f"{MODEL_FILE}.round*"):
            if saved.name == f"{MODEL_FILE}.round{len(state.rounds)}":
                os.replace(saved, self.run_dir / MODEL_FILE)
            else:
                saved.unlink()

    def refresh_results(self, state: RunState) -> dict[str, Any]:
        """The results of a finished run, rewritten when the file on disk does not say them
        (a kill between the state and the results, or a hand-edited file)."""
        results = results_document(state, self.planned_rounds)
        try:
            on_disk = read_json(self.run_dir / RESULTS_FILE)
        except (OSError, ValueError):
            on_disk = None
        if on_disk != json.loads(json.dumps(results)):  # as JSON: tuples read back as lists
            log.info("%s: results.json rewritten from the saved state", self.run_dir)
            write_results(self.run_dir, results)
        return results

    def run(self) -> dict[str, Any]:
        state = self.stored_state()
        if state is not None and state.finished:
            if len(state.rounds) >= self.planned_rounds:
                log.info("%s holds a finished run; leaving it as it is", self.run_dir)
                return self.refresh_results(state)
            self.reopen(state)
        experiment = build_experiment(self.cfg, self.settings, self.strategy, self.oracle)
        rng = np.random.default_rng(self.settings.seed)
        if state is None:
            state = initial_state(experiment, self.config, rng)
        else:
            state = self.resume(state, experiment, rng)
        self.request(len(state.rounds), state, experiment)
        state.wandb_run_id = self.logger.start(
            self.config, self.run_dir, state.wandb_run_id, history=state.rounds
        )
        sizes = self.settings.budget.round_sizes()
        results = results_document(state, self.planned_rounds)
        for round_number in range(len(state.rounds), len(sizes)):
            waiting = self.collect(round_number, state, experiment)
            if waiting is not None:
                return self.wait(state, waiting, experiment)
            next_size = sizes[round_number + 1] if round_number + 1 < len(sizes) else None
            run_round(experiment, state, rng, next_size, report=self.logger.log_round)
            self.request(round_number + 1, state, experiment)
            results = self.save(state, experiment)
        self.finish(results)
        return results

    def finish(self, results: dict[str, Any]) -> None:
        """Close the logger with the run's summary. A warm-started run keeps its checkpoint,
        the model its last round started from, so that a larger quota can extend it."""
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
