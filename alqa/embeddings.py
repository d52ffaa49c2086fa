"""Per-question embeddings for the diversity strategies, defined once here.

* Question embedding: the last-layer [CLS] vector of each window, averaged over the
  question's windows (a question is the unit that is labeled, so it must be one point, and a
  long context should not count more than a short one).
* Gradient embedding (BADGE, Ash et al., ICLR 2020): the gradient of the QA loss with respect
  to the output layer, taking the model's own best span as the hypothetical label. It is
  reduced per window inside the round's normal scoring pass, not by a pass of its own.

Both are memoised by the round's :class:`~alqa.pool_scoring.PoolScorer` under the keys below,
so a strategy computes them once per round and tests can give hand-built tensors under the
same keys (``PoolScorer(..., memory={key: tensor})``).
"""

from __future__ import annotations

import numpy as np
import torch

from alqa.inference import to_device
from alqa.pool_scoring import PoolScorer
from alqa.span_scoring import window_candidates

CANDIDATE_EMBEDDINGS_KEY = ("question_embeddings", "candidates")
LABELED_EMBEDDINGS_KEY = ("question_embeddings", "labeled")
GRADIENT_EMBEDDINGS_KEY = ("gradient_embeddings", "best_span")


def mean_by_question(
    window_embeddings: torch.Tensor, question_index: torch.Tensor, num_questions: int
) -> torch.Tensor:
    """[E, H] mean of the window rows [F, H] of each question (``question_index`` [F] in 0..E−1).

    A question without windows gets a zero vector (it cannot happen for real questions).
    """
    index = question_index.to(window_embeddings.device).long()
    sums = window_embeddings.new_zeros((num_questions, window_embeddings.shape[1]))
    sums.index_add_(0, index, window_embeddings)
    counts = torch.bincount(index, minlength=num_questions).clamp_min(1)
    return sums / counts[:, None].to(sums.dtype)


def candidate_question_embeddings(scorer: PoolScorer) -> torch.Tensor:
    """[len(candidates), H] question embeddings of the candidates (one pass over the pool)."""

    def compute() -> torch.Tensor:
        outputs = scorer.window_outputs(with_embeddings=True)
        return mean_by_question(
            outputs.cls_embeddings,
            scorer.question_index(outputs.feature_indices),
            len(scorer.candidates),
        )

    return scorer.memo(CANDIDATE_EMBEDDINGS_KEY, compute)


def labeled_question_embeddings(scorer: PoolScorer, labeled: np.ndarray) -> torch.Tensor:
    """[len(labeled), H] question embeddings of the labeled set (one pass over its windows)."""

    def compute() -> torch.Tensor:
        questions = np.asarray(labeled, dtype=np.int64)
        rows = scorer.features.features_of(questions)
        outputs = scorer.predict(rows, with_embeddings=True, description="embed labeled")
        if outputs.cls_embeddings is None:  # no labeled windows at all
            hidden = scorer.model.config.hidden_size
            return torch.empty((0, hidden), device=scorer.device)
        return mean_by_question(
            outputs.cls_embeddings, scorer.question_index(rows, questions), len(questions)
        )

    return scorer.memo(LABELED_EMBEDDINGS_KEY, compute)


def _expected_hidden(
    hidden: torch.Tensor, logits: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """[B, H] Σ_i p_i h_i, p = softmax of one head's logits over the real tokens."""
    probs = logits.float().masked_fill(~mask, float("-inf")).softmax(dim=1)
    return torch.bmm(probs.unsqueeze(1), hidden.float()).squeeze(1)


def _at(hidden: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
    """[B, H] the hidden state of each window at its ``token`` [B]."""
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    return hidden[rows, token.to(hidden.device)].float()


def span_gradient_embeddings(
    hidden: torch.Tensor,
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    attention_mask: torch.Tensor,
    start_label: torch.Tensor,
    end_label: torch.Tensor,
) -> torch.Tensor:
    """[B, 2H] BADGE embedding of windows: output-layer gradient for start ⊕ end heads.

    ``hidden`` [B, L, H] are last-layer states, logits [B, L], labels [B] token positions.
    Per head, d CE(softmax(logits), label) / d w = Σ_i (p_i − 1[i = label]) h_i
    = Σ_i p_i h_i − h_label for logit_i = w·h_i + b. The softmax runs over every real token of
    the window (``attention_mask``), question and special tokens included, as in Hugging
    Face's QA loss; padding is excluded. The bias gradient Σ_i (p_i − 1[i = ŝ]) is always 0
    and the loss's ½ only rescales, so neither is kept. The result equals the autograd
    gradient of CE(start) + CE(end) w.r.t. the two rows of ``qa_outputs.weight``.
    """
    mask = attention_mask.bool()
    return torch.cat(
        [
            _expected_hidden(hidden, start_logits, mask) - _at(hidden, start_label),
            _expected_hidden(hidden, end_logits, mask) - _at(hidden, end_label),
        ],
        dim=1,
    )


def best_span_windows(scorer: PoolScorer) -> tuple[np.ndarray, torch.Tensor, torch.Tensor]:
    """Per candidate: the pool window holding its best span, and that span's start/end token.

    A question with no valid span gets its first window and the label (0, 0), the [CLS]
    "no answer in this window" target that training itself uses for such windows.
    """
    outputs = scorer.window_outputs()
    spans = scorer.spans()
    num_questions = len(scorer.candidates)
    question_index = scorer.question_index(outputs.feature_indices)
    first_window = torch.full((num_questions,), len(question_index), dtype=torch.long)
    first_window.scatter_reduce_(
        0, question_index, torch.arange(len(question_index)), reduce="amin"
    )
    best = spans.feature_index[:, 0].cpu()
    has_span = best >= 0
    scored_row = torch.where(has_span, best, first_window)
    start = torch.where(has_span, spans.start_token[:, 0].cpu(), 0)
    end = torch.where(has_span, spans.end_token[:, 0].cpu(), 0)
    return outputs.feature_indices[scored_row.numpy()], start, end


class WindowGradients:
    """Reduces each window of the normal scoring pass to two BADGE embeddings, [B, 4H]: for
    the window's own best span (what the question's best span is, in the window it comes
    from, because spans are pooled by their best score) ⊕ for the [CLS] label (0, 0) (a
    question without a span, or whose best candidate is "no answer")."""

    key = "badge_gradients"

    def __init__(self, features, n_best: int, max_answer_length: int) -> None:
        self.features = features
        self.n_best = n_best
        self.max_answer_length = max_answer_length

    def own_best_span(
        self, rows: np.ndarray, start_logits: torch.Tensor, end_logits: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Start/end token of each window's best span; (0, 0) where it has none."""
        offsets = self.features.offsets[torch.as_tensor(rows), : start_logits.shape[1]]
        best = window_candidates(
            start_logits, end_logits, offsets, self.n_best, self.max_answer_length
        )
        found = torch.isfinite(best.scores[:, 0])
        return (
            torch.where(found, best.start_token[:, 0], 0),
            torch.where(found, best.end_token[:, 0], 0),
        )

    def __call__(self, rows: np.ndarray, inputs: dict, output) -> torch.Tensor:
        hidden = output.hidden_states[-1]
        start, end = self.own_best_span(rows, output.start_logits, output.end_logits)
        cls = torch.zeros_like(start)
        mask = inputs["attention_mask"]
        return torch.cat(
            [
                span_gradient_embeddings(
                    hidden, output.start_logits, output.end_logits, mask, start, end
                ),
                span_gradient_embeddings(
                    hidden, output.start_logits, output.end_logits, mask, cls, cls
                ),
            ],
            dim=1,
        )


def gradient_embeddings(scorer: PoolScorer) -> torch.Tensor:
    """[len(candidates), 2H] BADGE gradient embeddings, from the round's normal scoring pass.

    Each window is reduced inside that pass (:class:`WindowGradients`), so no hidden states
    are kept and no second pass is run; only a question whose best span is not its window's
    own best (a tie, or spans handed in from elsewhere) is re-run, alone.
    """
    return scorer.memo(GRADIENT_EMBEDDINGS_KEY, lambda: _gradient_embeddings(scorer))


def _gradient_embeddings(scorer: PoolScorer) -> torch.Tensor:
    reducer = WindowGradients(scorer.features, scorer.n_best, scorer.max_answer_length)
    outputs = scorer.window_outputs(reduce=reducer)
    rows, start, end = best_span_windows(scorer)
    if len(rows) == 0:
        return torch.empty((0, 2 * scorer.model.config.hidden_size), device=scorer.device)
    position = np.empty(int(outputs.feature_indices.max(initial=-1)) + 1, dtype=np.int64)
    position[outputs.feature_indices] = np.arange(len(outputs.feature_indices))
    at = torch.as_tensor(position[rows], device=scorer.device)
    own_start, own_end = reducer.own_best_span(
        rows, outputs.start_logits[at], outputs.end_logits[at]
    )
    is_own = (own_start.cpu() == start) & (own_end.cpu() == end)
    is_cls = (start == 0) & (end == 0)
    width = outputs.reduced.shape[1] // 2
    embeddings = torch.where(
        is_cls.to(scorer.device)[:, None], outputs.reduced[at, width:], outputs.reduced[at, :width]
    )
    redo = ~(is_own | is_cls)
    if redo.any():
        where = torch.flatten(torch.nonzero(redo))
        embeddings[where.to(scorer.device)] = _second_pass(
            scorer, rows[where.numpy()], start[where], end[where]
        )
    return embeddings


def _second_pass(
    scorer: PoolScorer, rows: np.ndarray, start: torch.Tensor, end: torch.Tensor
) -> torch.Tensor:
    """BADGE embeddings of the given windows and labels by a pass of their own."""
    device = scorer.device
    embeddings = torch.empty((len(rows), 2 * scorer.model.config.hidden_size), device=device)
    batches = scorer.forward(rows, output_hidden_states=True, description="badge gradients")
    with scorer.model_time(), torch.no_grad():
        for positions, inputs, output in batches:
            where = torch.as_tensor(positions)
            embeddings[to_device(where, device)] = span_gradient_embeddings(
                output.hidden_states[-1],
                output.start_logits,
                output.end_logits,
                inputs["attention_mask"],
                to_device(start[where], device),
                to_device(end[where], device),
            )
    return embeddings
