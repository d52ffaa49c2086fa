"""One round's model passes over the pool, shared by every strategy and helper that needs them.

A :class:`PoolScorer` is made per query round. It runs the current model over the windows of
the candidate questions on demand (``predict``, ``forward``), turns the deterministic pass into
pooled candidate spans (``spans``), remembers whatever was computed under a key (``memo``) so
nothing is run twice in a round, and adds the time of every model pass to ``model_seconds``
(reported as the round's ``score_seconds``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Hashable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import torch

from alqa.features import TokenizedQA
from alqa.inference import WindowOutputs, WindowReducer, forward_batches, predict_windows
from alqa.span_scoring import QuestionSpans, question_spans

SPANS_KEY = "spans"


def windows_key(with_embeddings: bool, reducer: str | None = None) -> tuple[str, bool, str | None]:
    """Memo key of the deterministic pass over the candidates' windows: with [CLS] embeddings
    or not, and the ``key`` of the WindowReducer it ran (None for none)."""
    return ("windows", bool(with_embeddings), reducer)


def _serves(key: Hashable, wanted: tuple[str, bool, str | None]) -> bool:
    """Whether the memoised pass under ``key`` holds everything the ``wanted`` pass would."""
    if not (isinstance(key, tuple) and len(key) == 3 and key[0] == "windows"):
        return False
    return (key[1] or not wanted[1]) and wanted[2] in (None, key[2])


class PoolScorer:
    """The current model, the tokenised pool and this round's candidates, with a memo.

    ``model`` and ``features`` may be None for a scorer that only serves values put in its
    ``memory`` (tests, or a benchmark replaying precomputed passes); asking it for a model
    pass then raises.
    """

    def __init__(
        self,
        model: torch.nn.Module | None,
        features: TokenizedQA | None,
        candidates: np.ndarray,
        *,
        device: torch.device | str = "cpu",
        batch_size: int = 64,
        n_best: int = 20,
        max_answer_length: int = 30,
        bf16: bool = False,
        with_null: bool = False,
        memory: Mapping[Hashable, Any] | None = None,
    ) -> None:
        self._model = model
        self._features = features
        self._candidates = np.asarray(candidates, dtype=np.int64)
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self.n_best = int(n_best)
        self.max_answer_length = int(max_answer_length)
        self.bf16 = bool(bf16)
        self.with_null = bool(with_null)  # "no answer" is a candidate (SQuAD 2.0 data)
        self._memory: dict[Hashable, Any] = dict(memory or {})
        self._reused: set[Hashable] = set()
        self.model_seconds = 0.0

    # ---------------------------------------------------------------- what it holds
    @property
    def model(self) -> torch.nn.Module:
        if self._model is None:
            raise RuntimeError("this strategy needs a model, but the query context has none")
        return self._model

    @property
    def features(self) -> TokenizedQA:
        if self._features is None:
            raise RuntimeError("this strategy needs a model, but the query context has none")
        return self._features

    @property
    def candidates(self) -> np.ndarray:
        return self._candidates

    @property
    def memory(self) -> Mapping[Hashable, Any]:
        """What was computed (or given) this round, by key; read-only."""
        return MappingProxyType(self._memory)

    @property
    def reused(self) -> frozenset:
        """Keys that ``memo`` served from memory instead of computing."""
        return frozenset(self._reused)

    # ---------------------------------------------------------------- memo and timing
    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """The value under ``key``, computed by ``compute()`` the first time this round."""
        if key in self._memory:
            self._reused.add(key)
            return self._memory[key]
        value = compute()
        self._memory[key] = value
        return value

    @contextlib.contextmanager
    def model_time(self) -> Iterator[None]:
        """Count the enclosed model passes as ``model_seconds`` (synchronising CUDA first)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            self.model_seconds += time.perf_counter() - started

    # ---------------------------------------------------------------- model passes
    def predict(
        self,
        rows: np.ndarray,
        *,
        dropout: bool = False,
        with_embeddings: bool = False,
        reduce: WindowReducer | None = None,
        batch_size: int | None = None,
        description: str = "score",
    ) -> WindowOutputs:
        """Logits (and [CLS] embeddings, ``reduce``'s rows) of the given pool windows; timed,
        not memoised."""
        with self.model_time():
            return predict_windows(
                self.model,
                self.features,
                rows,
                batch_size or self.batch_size,
                self.device,
                dropout=dropout,
                with_embeddings=with_embeddings,
                reduce=reduce,
                bf16=self.bf16,
                description=description,
            )

    def forward(
        self, rows: np.ndarray, *, output_hidden_states: bool = False, description: str = "score"
    ) -> Iterator[tuple[np.ndarray, dict[str, torch.Tensor], Any]]:
        """Raw batched no-grad forward passes (positions, inputs, output), for callers that
        reduce each batch at once; wrap the loop in ``model_time()`` to count it."""
        return forward_batches(
            self.model,
            self.features,
            rows,
            self.batch_size,
            self.device,
            output_hidden_states=output_hidden_states,
            bf16=self.bf16,
            description=description,
        )

    def candidate_rows(self) -> np.ndarray:
        """Pool window rows of every candidate question."""
        return self.features.features_of(self._candidates)

    def window_outputs(
        self, *, with_embeddings: bool = False, reduce: WindowReducer | None = None
    ) -> WindowOutputs:
        """Deterministic (dropout off) outputs of every window of every candidate question.

        One pass per round: a pass already made with more (embeddings, a reducer) serves a
        request for less.
        """
        wanted = windows_key(with_embeddings, None if reduce is None else reduce.key)
        for key in (wanted, *self._memory):
            if key in self._memory and _serves(key, wanted):
                return self.memo(key, lambda: None)
        return self.memo(
            wanted,
            lambda: self.predict(
                self.candidate_rows(), with_embeddings=with_embeddings, reduce=reduce
            ),
        )

    def question_index(self, rows: np.ndarray, questions: np.ndarray | None = None) -> torch.Tensor:
        """For each pool window row, its position in ``questions`` (default: the candidates),
        not its pool index; −1 for a window of another question."""
        features = self.features
        questions = self._candidates if questions is None else np.asarray(questions)
        position = np.full(features.num_examples, -1, dtype=np.int64)
        position[questions] = np.arange(len(questions))
        return torch.from_numpy(position[features.example_index.numpy()[np.asarray(rows)]])

    def spans(self) -> QuestionSpans:
        """Pooled candidate spans of each candidate question (rows aligned with candidates)."""
        return self.memo(SPANS_KEY, self._compute_spans)

    def _compute_spans(self) -> QuestionSpans:
        outputs = self.window_outputs()
        return question_spans(
            outputs.start_logits,
            outputs.end_logits,
            self.features.offsets[torch.as_tensor(outputs.feature_indices)],
            self.question_index(outputs.feature_indices),
            len(self._candidates),
            self.n_best,
            self.max_answer_length,
            with_null=self.with_null,
        )
