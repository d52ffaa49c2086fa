"""Setting up an AL run: validated settings, data, tokenised windows, model and strategy.

The set-up is one reusable piece (:func:`build_experiment`), so benchmarks and tools get the
exact objects a run works with. Everything that can be checked without data is checked first
(:class:`RunSettings`), so a bad value costs a second, not a tokenised pool.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass
from typing import Any

import hydra.utils
import numpy as np
import torch
from hydra.errors import InstantiationException

from alqa.data import DatasetError, QARow, answers_unknown
from alqa.feature_cache import cached_features
from alqa.features import TokenizedQA, question_token_limit, tokenize_questions
from alqa.modeling import (
    InitialWeights,
    build_model,
    check_window_length,
    load_tokenizer,
    pick_device,
)
from alqa.oracle import GoldOracle, Oracle
from alqa.run_settings import RunSettings
from alqa.settings import ConfigError, WindowSettings
from alqa.strategies import QueryStrategy, build_strategy

log = logging.getLogger(__name__)


@dataclass
class Experiment:
    """What every round works with; built once per run (and once per resume)."""

    settings: RunSettings
    strategy: QueryStrategy
    pool: list[QARow]
    evaluation: list[QARow]
    pool_features: TokenizedQA
    eval_features: TokenizedQA | None  # None: no evaluation set (rounds report no EM/F1)
    model: torch.nn.Module
    initial_weights: InitialWeights
    device: torch.device
    #: who labels the queried questions (the gold simulation unless a run says otherwise)
    oracle: Oracle = dataclasses.field(default_factory=GoldOracle)

    def __post_init__(self) -> None:
        self._index_of = {row["id"]: i for i, row in enumerate(self.pool)}

    @functools.cached_property
    def with_null(self) -> bool:
        """Whether "no answer" is a candidate: the data has unanswerable (SQuAD 2.0)
        questions, or the oracle may answer "no answer", so the model is trained on them and
        must be able to predict them. Unknown answers (still to be labeled) are not "none"."""
        known = (r for r in (*self.pool, *self.evaluation) if not answers_unknown(r))
        return self.oracle.offers_no_answer or any(not row["answers"]["text"] for row in known)

    @functools.cached_property
    def training_model(self) -> torch.nn.Module:
        """The module training steps run through: the model itself, or with ``train.compile``
        a ``torch.compile`` of it (same parameters, compiled once per run, dynamic shapes
        because every batch is trimmed to its own length)."""
        if not self.settings.train.compile:
            return self.model
        return torch.compile(self.model, dynamic=True)

    def indices_of(self, question_ids: list[str]) -> np.ndarray:
        """Pool indices of the given question ids."""
        return np.array([self._index_of[q] for q in question_ids], dtype=np.int64)

    def ids_of(self, indices: np.ndarray) -> list[str]:
        """Question ids of the given pool indices."""
        return [self.pool[int(i)]["id"] for i in indices]

    def unknown_ids(self, question_ids: list[str]) -> list[str]:
        """The ids that are not in the pool (a changed dataset under a resumed run)."""
        return [q for q in question_ids if q not in self._index_of]


def load_data(dataset_cfg: Any, seed: int) -> tuple[list[QARow], list[QARow]]:
    """The pool and the evaluation set from the ``dataset`` config (``_target_`` object)."""
    try:
        source = hydra.utils.instantiate(dataset_cfg, _convert_="all")
    except InstantiationException as error:
        if isinstance(error.__cause__, DatasetError | ConfigError):
            raise error.__cause__ from None  # the dataset's own one-line message
        raise
    if not hasattr(source, "load"):
        raise DatasetError("dataset._target_ must build an object with load(seed)")
    return source.load(seed)


def tokenize(
    rows: list[QARow],
    tokenizer: Any,
    windows: WindowSettings,
    what: str,
    cache_dir: str | None = None,
) -> TokenizedQA:
    """The windows of ``rows``, from the on-disk cache when another run already made them."""
    return cached_features(
        cache_dir,
        rows,
        tokenizer,
        windows.max_length,
        windows.stride,
        lambda: tokenize_questions(
            rows, tokenizer, windows.max_length, windows.stride, description=f"tokenize {what}"
        ),
    )


def build_experiment(
    cfg: Any,
    settings: RunSettings | None = None,
    strategy: QueryStrategy | None = None,
    oracle: Oracle | None = None,
) -> Experiment:
    """Validate, load, tokenise and build the model: everything before the first round.

    The oracle sees the data first: the gold one checks that every answer is there, an
    annotation team's one sets the pool's answers to unknown (people will give them).
    """
    settings = settings or RunSettings.from_config(cfg)
    device = pick_device(settings.train.device)  # a CUDA device that is not there fails now
    strategy = strategy or build_strategy(cfg.strategy)
    oracle = oracle or GoldOracle()
    pool, evaluation = load_data(cfg.dataset, settings.seed)
    pool = oracle.prepare(pool, evaluation)
    settings.budget.validate(len(pool), pool_capped=cfg.dataset.get("pool_size") is not None)
    tokenizer = load_tokenizer(cfg.model)
    torch.manual_seed(settings.seed)
    model = build_model(cfg.model, tokenizer)
    # windows the model cannot read, or that leave no room for a question, fail before the
    # pool is tokenised
    check_window_length(model, settings.windows.max_length, str(cfg.model.get("name")))
    question_token_limit(tokenizer, settings.windows.max_length, settings.windows.stride)
    cache_dir = cfg.get("features_cache")
    pool_features = tokenize(pool, tokenizer, settings.windows, "pool", cache_dir)
    eval_features = (
        tokenize(evaluation, tokenizer, settings.windows, "eval", cache_dir) if evaluation else None
    )
    strategy.prepare_model(model)
    model.to(device)
    return Experiment(
        settings=settings,
        strategy=strategy,
        pool=pool,
        evaluation=evaluation,
        pool_features=pool_features,
        eval_features=eval_features,
        model=model,
        initial_weights=InitialWeights(model),
        device=device,
        oracle=oracle,
    )
