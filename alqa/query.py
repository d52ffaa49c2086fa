"""The query step of a round: the current model scores the unlabeled pool, the strategy picks.

Whatever a strategy returns is checked here (right count, distinct, unlabeled candidates), and
pseudo-labels are named by question and checked never to touch a gold question: a strategy
bug must stop the run, not quietly spend the budget twice or train on the oracle's answers.
"""

from __future__ import annotations

import numpy as np
import torch

from alqa.budget import BudgetError
from alqa.experiment import Experiment
from alqa.pool_scoring import PoolScorer
from alqa.state import PendingQuery, PseudoLabels
from alqa.strategies import QueryContext
from alqa.training import timed


def choose_candidates(
    pool_size: int, labeled: np.ndarray, k: int, subsample: int, rng: np.random.Generator
) -> np.ndarray:
    """The unlabeled pool indices a strategy may pick from: all, or ``subsample`` random ones."""
    unlabeled_mask = np.ones(pool_size, dtype=bool)
    unlabeled_mask[labeled] = False
    unlabeled = np.flatnonzero(unlabeled_mask)
    if len(unlabeled) < k:
        raise BudgetError(f"only {len(unlabeled)} unlabeled questions left, {k} needed")
    if 0 < subsample < len(unlabeled):
        return np.sort(rng.choice(unlabeled, size=subsample, replace=False))
    return unlabeled


def checked_batch(picked: np.ndarray, candidates: np.ndarray, k: int, name: str) -> np.ndarray:
    """``picked`` as pool indices, or an error if it is not k distinct candidates."""
    picked = np.asarray(picked, dtype=np.int64)
    if len(picked) != k or len(set(picked.tolist())) != k or not np.isin(picked, candidates).all():
        raise RuntimeError(
            f"strategy {name!r} returned an invalid batch "
            f"({len(picked)} picks, {k} asked, must be distinct unlabeled candidates)"
        )
    return picked


def round_scorer(
    experiment: Experiment, candidates: np.ndarray, memory: dict | None = None
) -> PoolScorer:
    """A fresh scorer over this round's candidates with the run's current model (``memory``:
    passes already computed for these candidates, e.g. by a benchmark)."""
    settings = experiment.settings
    return PoolScorer(
        experiment.model,
        experiment.pool_features,
        candidates,
        device=experiment.device,
        batch_size=settings.train.eval_batch_size,
        n_best=settings.scoring.n_best,
        max_answer_length=settings.scoring.max_answer_length,
        bf16=settings.train.autocast_bf16(experiment.device),
        with_null=experiment.with_null,
        memory=memory,
    )


def named_pseudo_labels(
    experiment: Experiment, pseudo: PseudoLabels | None, gold_ids: set[str]
) -> PseudoLabels | None:
    """Pseudo-labels with their questions named by the windows trained on; never gold ones."""
    if pseudo is None or not pseudo.feature_rows:
        return None
    owners = experiment.pool_features.example_index[torch.as_tensor(pseudo.feature_rows)]
    pseudo.question_ids = experiment.ids_of(owners.numpy())
    if gold_ids & set(pseudo.question_ids):
        raise RuntimeError(f"strategy {experiment.strategy.name!r} pseudo-labeled gold questions")
    return pseudo


def query_next(
    experiment: Experiment,
    labeled: np.ndarray,
    rng: np.random.Generator,
    k: int,
    round_number: int,
    exclude: np.ndarray | None = None,
) -> PendingQuery:
    """Pick the ``k`` questions round ``round_number`` adds, with the time it took; never one
    of ``exclude`` (questions the annotators skipped)."""
    strategy = experiment.strategy
    subsample = experiment.settings.budget.pool_subsample
    taken = labeled if exclude is None or not len(exclude) else np.concatenate([labeled, exclude])
    candidates = choose_candidates(len(experiment.pool), taken, k, subsample, rng)
    scorer = round_scorer(experiment, candidates)
    context = QueryContext(candidates, labeled, rng, round_number, scorer)
    picked, seconds = timed(lambda: strategy.query(context, k))
    picked = checked_batch(picked, candidates, k, strategy.name)
    selected_ids = experiment.ids_of(picked)
    gold = set(selected_ids) | set(experiment.ids_of(labeled))
    pseudo = strategy.pseudo_labels(context, picked)
    return PendingQuery(
        selected_ids=selected_ids,
        score_seconds=scorer.model_seconds,
        select_seconds=max(seconds - scorer.model_seconds, 0.0),
        pseudo_labels=named_pseudo_labels(experiment, pseudo, gold),
    )
