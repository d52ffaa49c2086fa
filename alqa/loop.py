"""The active-learning loop: train → evaluate → score the pool → query → label, per round.

Round ``r`` trains on the labeled questions, evaluates, then (unless it is the last round)
picks the questions that round ``r+1`` will add. The state written at the end of a round
therefore already holds the next labeled set, so a resumed run only has to retrain: it never
needs the previous round's model unless ``train.warm_start`` is on, when that model is saved.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf

from alqa.budget import Budget, BudgetError
from alqa.curves import area_under_budget_curve
from alqa.data import load_pool_and_eval
from alqa.evaluation import evaluate
from alqa.features import tokenize_questions
from alqa.loggers import RunLogger
from alqa.modeling import InitialWeights, build_model, load_tokenizer, pick_device
from alqa.state import atomic_save_torch, atomic_write_json, read_json
from alqa.strategies import QueryContext, QueryStrategy, build_strategy
from alqa.strategies.base import PoolScorer
from alqa.training import timed, train_model

log = logging.getLogger(__name__)

STATE_FILE = "al_state.json"
RESULTS_FILE = "results.json"
MODEL_FILE = "model_last.pt"
#: keys whose change makes a stored run a different experiment (resume refuses it)
IDENTITY_KEYS = ("seed", "dataset", "model", "strategy", "budget", "train", "scoring")
#: test hook: raise after the state of this round is saved, as a kill would stop the run
CRASH_AFTER_ROUND_ENV = "ALQA_CRASH_AFTER_ROUND"


class ResumeError(RuntimeError):
    """The run directory holds a different run; the message says what to do."""


class SimulatedCrash(RuntimeError):
    """Raised by the test hook ``ALQA_CRASH_AFTER_ROUND``."""


def _identity(config: dict[str, Any]) -> dict[str, Any]:
    return {k: config.get(k) for k in IDENTITY_KEYS}


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [d for k in keys for d in _differences(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [prefix.rstrip(".")]


class ActiveLearningRun:
    """One AL run in one directory: ``run()`` starts it, or resumes it if it was cut short."""

    def __init__(self, cfg: DictConfig, run_dir: str | Path, logger: RunLogger | None = None):
        self.cfg = cfg
        self.run_dir = Path(run_dir)
        self.logger = logger or RunLogger()
        self.config = OmegaConf.to_container(cfg, resolve=True)
        self.budget = Budget.from_config(cfg.budget)
        self.strategy = build_strategy(cfg.strategy)

    # ----------------------------------------------------------------- state
    def _load_state(self) -> dict[str, Any] | None:
        state = read_json(self.run_dir / STATE_FILE)
        if state is None:
            return None
        changed = _differences(_identity(state["config"]), _identity(self.config))
        if changed:
            raise ResumeError(
                f"{self.run_dir} already holds an alqa run with a different configuration "
                f"(differs in: {', '.join(changed[:8])}). Resume it with its own settings, or "
                "start a new run in another directory (hydra.run.dir=...)."
            )
        return state

    def _results(self, state: dict[str, Any]) -> dict[str, Any]:
        rounds = state["rounds"]
        x = [r["n_labeled"] for r in rounds]
        results = {
            "config": self.config,
            "rounds": rounds,
            "aubc_em": area_under_budget_curve(x, [r["em"] for r in rounds]) if rounds else None,
            "aubc_f1": area_under_budget_curve(x, [r["f1"] for r in rounds]) if rounds else None,
            "planned_rounds": len(self.budget.round_sizes()),
            "finished": state["finished"],
        }
        if state.get("pseudo_labels"):
            results["pseudo_labels"] = state["pseudo_labels"]
        return results

    def _save(self, state: dict[str, Any]) -> dict[str, Any]:
        atomic_write_json(self.run_dir / STATE_FILE, state)
        results = self._results(state)
        atomic_write_json(self.run_dir / RESULTS_FILE, results)
        return results

    # ------------------------------------------------------------------ run
    def run(self) -> dict[str, Any]:
        state = self._load_state()
        if state is not None and state["finished"]:
            log.info("%s holds a finished run; leaving it as it is", self.run_dir)
            return self._results(state)
        cfg = self.cfg
        seed = int(cfg.seed)
        pool, evaluation = load_pool_and_eval(
            train_file=cfg.dataset.get("train_file"),
            eval_file=cfg.dataset.get("eval_file"),
            hub_name=cfg.dataset.get("hub_name"),
            train_split=cfg.dataset.get("train_split", "train"),
            eval_split=cfg.dataset.get("eval_split", "validation"),
            pool_size=cfg.dataset.get("pool_size"),
            eval_size=cfg.dataset.get("eval_size"),
            seed=seed,
        )
        self.budget.validate(len(pool))
        device = pick_device(cfg.train.get("device", "auto"))
        tokenizer = load_tokenizer(cfg.model)
        max_length, stride = int(cfg.model.max_length), int(cfg.model.stride)
        pool_features = tokenize_questions(
            pool, tokenizer, max_length, stride, description="tokenize pool"
        )
        eval_features = tokenize_questions(
            evaluation, tokenizer, max_length, stride, description="tokenize eval"
        )
        torch.manual_seed(seed)
        model = build_model(cfg.model, tokenizer)
        self.strategy.prepare_model(model)
        model.to(device)
        initial_weights = InitialWeights(model)
        id_to_index = {r["id"]: i for i, r in enumerate(pool)}
        sizes = self.budget.round_sizes()
        rng = np.random.default_rng(seed)

        if state is None:
            initial = rng.choice(len(pool), size=sizes[0], replace=False)
            state = {
                "config": self.config,
                "rounds": [],
                "labeled_ids": [],
                "pending": {
                    "selected_ids": [pool[i]["id"] for i in initial],
                    "score_seconds": 0.0,
                    "select_seconds": 0.0,
                },
                "rng_state": rng.bit_generator.state,
                "wandb_run_id": None,
                "finished": False,
            }
        else:
            log.info("resuming %s after round %d", self.run_dir, len(state["rounds"]) - 1)
            rng.bit_generator.state = state["rng_state"]
            missing = [
                q
                for q in state["labeled_ids"] + state["pending"]["selected_ids"]
                if q not in id_to_index
            ]
            if missing:
                raise ResumeError(
                    f"stored labeled ids are not in the pool (e.g. {missing[:3]}); "
                    "the dataset changed since this run started"
                )
            if cfg.train.warm_start and state["rounds"]:
                model.load_state_dict(torch.load(self.run_dir / MODEL_FILE, map_location=device))
        state["wandb_run_id"] = self.logger.start(self.config, self.run_dir, state["wandb_run_id"])
        crash_after = os.environ.get(CRASH_AFTER_ROUND_ENV)

        results = None
        for round_number in range(len(state["rounds"]), len(sizes)):
            pending = state["pending"]
            state["labeled_ids"] = state["labeled_ids"] + pending["selected_ids"]
            labeled = np.array([id_to_index[q] for q in state["labeled_ids"]], dtype=np.int64)
            round_seed = int(rng.integers(2**31 - 1))
            torch.manual_seed(round_seed)
            if not cfg.train.warm_start:
                initial_weights.restore(model)
            train_rows, starts, ends = self._training_windows(pool_features, labeled, pending)
            train_stats, train_seconds = timed(
                functools.partial(
                    train_model,
                    model,
                    pool_features,
                    train_rows,
                    cfg.train,
                    device,
                    round_seed,
                    start_positions=starts,
                    end_positions=ends,
                    auxiliary_loss=self.strategy.auxiliary_loss(),
                )
            )
            scores, eval_seconds = timed(
                functools.partial(
                    evaluate,
                    model,
                    eval_features,
                    evaluation,
                    batch_size=int(cfg.train.eval_batch_size),
                    n_best=int(cfg.scoring.n_best),
                    max_answer_length=int(cfg.scoring.max_answer_length),
                    device=device,
                    bf16=bool(cfg.train.bf16),
                )
            )
            record = {
                "round": round_number,
                "n_labeled": len(labeled),
                "em": scores["em"],
                "f1": scores["f1"],
                "train_loss": train_stats["train_loss"],
                "train_seconds": train_seconds,
                "eval_seconds": eval_seconds,
                "score_seconds": pending["score_seconds"],
                "select_seconds": pending["select_seconds"],
                "selected_ids": pending["selected_ids"],
            }
            if self._pseudo_labels_possible():
                pseudo_ids = (pending.get("pseudo_labels") or {}).get("question_ids", [])
                record["n_pseudo_labeled"] = len(set(pseudo_ids))
            if pending.get("pseudo_labels"):
                state.setdefault("pseudo_labels", {})[str(round_number)] = sorted(
                    set(pending["pseudo_labels"]["question_ids"])
                )
            log.info(
                "round %d: %d labeled, EM %.2f, F1 %.2f",
                round_number,
                len(labeled),
                record["em"],
                record["f1"],
            )
            state["rounds"].append(record)
            self.logger.log_round(record)
            if round_number + 1 < len(sizes):
                state["pending"] = self._query(
                    model,
                    pool,
                    pool_features,
                    labeled,
                    rng,
                    sizes[round_number + 1],
                    round_number + 1,
                    device,
                )
            else:
                state["pending"] = {"selected_ids": [], "score_seconds": 0.0, "select_seconds": 0.0}
                state["finished"] = True
            state["rng_state"] = rng.bit_generator.state
            if cfg.train.warm_start and not state["finished"]:
                atomic_save_torch(self.run_dir / MODEL_FILE, model.state_dict())
            results = self._save(state)
            if crash_after is not None and int(crash_after) == round_number:
                raise SimulatedCrash(f"{CRASH_AFTER_ROUND_ENV}={crash_after}")
        (self.run_dir / MODEL_FILE).unlink(missing_ok=True)
        self.logger.finish(
            {
                "final_em": state["rounds"][-1]["em"],
                "final_f1": state["rounds"][-1]["f1"],
                "final_n_labeled": state["rounds"][-1]["n_labeled"],
                "aubc_em": results["aubc_em"],
                "aubc_f1": results["aubc_f1"],
            }
        )
        return results

    def _query(self, model, pool, pool_features, labeled, rng, k, round_number, device):
        """Pick the next ``k`` questions; returns their ids and the phase timings."""
        unlabeled_mask = np.ones(len(pool), dtype=bool)
        unlabeled_mask[labeled] = False
        unlabeled = np.flatnonzero(unlabeled_mask)
        if len(unlabeled) < k:
            raise BudgetError(f"only {len(unlabeled)} unlabeled questions left, {k} needed")
        subsample = self.budget.pool_subsample
        candidates = (
            np.sort(rng.choice(unlabeled, size=subsample, replace=False))
            if (0 < subsample < len(unlabeled))
            else unlabeled
        )
        scorer = PoolScorer(
            model=model,
            features=pool_features,
            device=device,
            batch_size=int(self.cfg.train.eval_batch_size),
            n_best=int(self.cfg.scoring.n_best),
            max_answer_length=int(self.cfg.scoring.max_answer_length),
            bf16=bool(self.cfg.train.bf16),
        )
        context = QueryContext(
            candidates=candidates, labeled=labeled, rng=rng, round=round_number, scorer=scorer
        )
        picked, seconds = timed(lambda: self.strategy.query(context, k))
        picked = np.asarray(picked, dtype=np.int64)
        if (
            len(picked) != k
            or len(set(picked.tolist())) != k
            or not np.isin(picked, candidates).all()
        ):
            raise RuntimeError(
                f"strategy {self.strategy.name!r} returned an invalid batch "
                f"({len(picked)} picks, {k} asked, must be distinct unlabeled candidates)"
            )
        pending = {
            "selected_ids": [pool[i]["id"] for i in picked],
            "score_seconds": context.model_seconds,
            "select_seconds": max(seconds - context.model_seconds, 0.0),
        }
        pseudo = self.strategy.pseudo_labels(context, picked)
        if pseudo is not None and pseudo.feature_rows:
            # a strategy sees pool indices, not ids: name the questions by the windows trained on
            owners = pool_features.example_index[torch.as_tensor(pseudo.feature_rows)].tolist()
            pseudo.question_ids = [pool[i]["id"] for i in owners]
            gold = set(pending["selected_ids"]) | {pool[i]["id"] for i in labeled}
            if gold & set(pseudo.question_ids):
                raise RuntimeError(f"strategy {self.strategy.name!r} pseudo-labeled gold questions")
            pending["pseudo_labels"] = dataclasses.asdict(pseudo)
        return pending

    def _pseudo_labels_possible(self) -> bool:
        """Whether this strategy can pseudo-label (then every round logs how many it did)."""
        return type(self.strategy).pseudo_labels is not QueryStrategy.pseudo_labels

    @staticmethod
    def _training_windows(pool_features, labeled, pending):
        """Windows to train on: all windows of labeled questions (gold), plus pseudo-labels."""
        rows = pool_features.features_of(labeled)
        pseudo = pending.get("pseudo_labels")
        if not pseudo:
            return rows, None, None
        starts = torch.cat(
            [
                pool_features.start_positions[rows],
                torch.tensor(pseudo["start_positions"], dtype=torch.long),
            ]
        )
        ends = torch.cat(
            [
                pool_features.end_positions[rows],
                torch.tensor(pseudo["end_positions"], dtype=torch.long),
            ]
        )
        return (
            np.concatenate([rows, np.asarray(pseudo["feature_rows"], dtype=np.int64)]),
            starts,
            ends,
        )
