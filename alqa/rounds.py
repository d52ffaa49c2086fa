"""One round of active learning: train on the labeled questions → evaluate → query the next.

The round updates the run state in place: the pending questions join the labeled set, the
round's record is appended, and the next pending query (or ``finished``) is set. Saving the
state is the caller's job, so a round is one unit that either completes or leaves the saved
state of the previous round untouched.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import numpy as np
import torch

from alqa.evaluation import evaluate
from alqa.experiment import Experiment
from alqa.query import query_next
from alqa.results import RoundRecord
from alqa.state import LastRoundStart, PendingQuery, RunState
from alqa.training import timed, train_model

log = logging.getLogger(__name__)


def training_windows(
    experiment: Experiment, labeled: np.ndarray, pending: PendingQuery
) -> tuple[np.ndarray, torch.Tensor | None, torch.Tensor | None]:
    """Windows to train on: all windows of labeled questions (gold), plus pseudo-labels.

    Returns the pool rows and, when there are pseudo-labels, the start/end targets of every
    row (gold ones first); None means "the gold targets of the rows".
    """
    features = experiment.pool_features
    rows = features.features_of(labeled)
    pseudo = pending.pseudo_labels
    if pseudo is None:
        return rows, None, None
    starts = torch.cat([features.start_positions[rows], torch.tensor(pseudo.start_positions)])
    ends = torch.cat([features.end_positions[rows], torch.tensor(pseudo.end_positions)])
    all_rows = np.concatenate([rows, np.asarray(pseudo.feature_rows, dtype=np.int64)])
    return all_rows, starts.long(), ends.long()


def train_round(
    experiment: Experiment, labeled: np.ndarray, pending: PendingQuery, seed: int
) -> tuple[dict[str, float], float]:
    """Train this round's model; returns its statistics and the seconds it took."""
    train = experiment.settings.train
    torch.manual_seed(seed)
    if not train.warm_start:
        experiment.initial_weights.restore(experiment.model)
    rows, starts, ends = training_windows(experiment, labeled, pending)
    return timed(
        functools.partial(
            train_model,
            experiment.training_model,
            experiment.pool_features,
            rows,
            train,
            experiment.device,
            seed,
            start_positions=starts,
            end_positions=ends,
            auxiliary_loss=experiment.strategy.auxiliary_loss(),
        )
    )


def evaluate_round(experiment: Experiment) -> tuple[dict[str, float], float]:
    """EM/F1 of the current model on the evaluation set, and the seconds it took; nothing
    without an evaluation set (an annotation team's pool with no gold to score on)."""
    settings = experiment.settings
    if not experiment.evaluation:
        return {}, 0.0
    return timed(
        functools.partial(
            evaluate,
            experiment.model,
            experiment.eval_features,
            experiment.evaluation,
            batch_size=settings.train.eval_batch_size,
            n_best=settings.scoring.n_best,
            max_answer_length=settings.scoring.max_answer_length,
            device=experiment.device,
            bf16=settings.train.autocast_bf16(experiment.device),
            with_null=experiment.with_null,
            null_threshold=settings.scoring.null_threshold,
        )
    )


def pseudo_label_counts(experiment: Experiment, state: RunState, pending: PendingQuery) -> dict:
    """``n_pseudo_labeled`` for strategies that can pseudo-label; records who was used."""
    if not experiment.strategy.can_pseudo_label():
        return {}
    ids = sorted(set(pending.pseudo_labels.question_ids)) if pending.pseudo_labels else []
    if ids:
        state.pseudo_labels[str(len(state.rounds))] = ids
    return {"n_pseudo_labeled": len(ids)}


def run_round(
    experiment: Experiment,
    state: RunState,
    rng: np.random.Generator,
    next_size: int | None,
    report: Callable[[dict], None] = lambda record: None,
) -> dict:
    """Train → evaluate → query ``next_size`` questions (None: the last round); returns the
    round's record after passing it to ``report`` (a logger) before the query starts."""
    pending, round_number = state.pending, len(state.rounds)
    start = LastRoundStart(pending=pending, rng_state=rng.bit_generator.state)
    skipped = set(pending.skipped_ids)
    state.labeled_ids = state.labeled_ids + [q for q in pending.selected_ids if q not in skipped]
    state.skipped_ids = state.skipped_ids + [q for q in pending.selected_ids if q in skipped]
    labeled = experiment.indices_of(state.labeled_ids)
    train_stats, train_seconds = train_round(
        experiment, labeled, pending, int(rng.integers(2**31 - 1))
    )
    metrics, eval_seconds = evaluate_round(experiment)
    record = RoundRecord(
        round=round_number,
        n_labeled=len(labeled),
        metrics=metrics,
        train_loss=train_stats["train_loss"],
        train_steps=train_stats["train_steps"],
        train_seconds=train_seconds,
        eval_seconds=eval_seconds,
        score_seconds=pending.score_seconds,
        select_seconds=pending.select_seconds,
        selected_ids=pending.selected_ids,
        extra={
            **pseudo_label_counts(experiment, state, pending),
            **({"skipped_ids": pending.skipped_ids} if pending.skipped_ids else {}),
        },
    ).to_json()
    log.info("round %d: %d labeled, %s", round_number, len(labeled), metrics)
    state.rounds.append(record)
    report(record)
    if next_size is None:
        state.pending, state.finished = PendingQuery(selected_ids=[]), True
        state.last_round_start = start
    else:
        skipped_rows = experiment.indices_of(state.skipped_ids)
        state.pending = query_next(
            experiment, labeled, rng, next_size, round_number + 1, exclude=skipped_rows
        )
    state.rng_state = rng.bit_generator.state
    return record
