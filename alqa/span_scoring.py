"""Candidate answer spans and their probabilities, per question, vectorised with torch.

This is Hugging Face's ``utils_qa.postprocess_qa_predictions`` without its Python loops:
per window, the ``n_best`` start logits × ``n_best`` end logits give candidate spans (end ≥
start, length ≤ ``max_answer_length``, both tokens inside the context); candidates of all
windows of a question are pooled; the ``n_best`` best are kept and turned into a
distribution with a log-sum-exp softmax over start+end logits, padding with −inf.

Two differences from HF, on purpose. (1) The n-best starts and ends are taken among context
tokens only; HF takes them among all tokens and then discards question tokens, so a window
whose question tokens score high ends up with fewer than n-best candidates. (2) A span is
identified by its character offsets, and a span seen in two overlapping windows is kept once,
with its best score. Without that, a confident answer in the overlap of two windows shows up
as two near-equal "competing" spans and its margin collapses to ~0, the most common wrong
margin in QA active-learning code.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

NEG_INF = float("-inf")


@dataclass
class WindowCandidates:
    """The ``n_best`` best spans of every window, best first; −inf / −1 where none."""

    scores: torch.Tensor  # [F, n] start+end logit sum
    start_token: torch.Tensor  # [F, n]
    end_token: torch.Tensor  # [F, n]
    start_char: torch.Tensor  # [F, n]
    end_char: torch.Tensor  # [F, n]


@dataclass
class QuestionSpans:
    """The ``n_best`` best distinct spans of every question, pooled over its windows.

    ``feature_index`` says which window (row of the scored logits) the span's best score came
    from, so later passes (MC dropout, gradient embeddings) can re-score the same spans.
    """

    scores: torch.Tensor  # [E, n] best first, −inf padding
    log_probs: torch.Tensor  # [E, n] log softmax over the candidates, −inf padding
    feature_index: torch.Tensor  # [E, n] row into the scored windows, −1 padding
    start_token: torch.Tensor  # [E, n]
    end_token: torch.Tensor  # [E, n]
    start_char: torch.Tensor  # [E, n]
    end_char: torch.Tensor  # [E, n]

    @property
    def has_span(self) -> torch.Tensor:
        """[E] bool: the question has at least one valid candidate span."""
        return torch.isfinite(self.scores[:, 0])

    @property
    def is_null(self) -> torch.Tensor:
        """[E, n] bool: the candidate is "no answer" (both tokens on [CLS], SQuAD 2.0); a real
        span never starts at token 0, which is never a context token."""
        return (self.start_token == 0) & (self.feature_index >= 0)

    @property
    def probs(self) -> torch.Tensor:
        """[E, n] span probabilities (0 on padding)."""
        return self.log_probs.exp()


def window_candidates(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    offsets: torch.Tensor,
    n_best: int,
    max_answer_length: int,
    chunk_size: int = 4096,
) -> WindowCandidates:
    """Top ``n_best`` valid spans per window from [F, L] logits and [F, L, 2] offsets."""
    parts = [
        _window_candidates_chunk(
            start_logits[i : i + chunk_size],
            end_logits[i : i + chunk_size],
            offsets[i : i + chunk_size],
            n_best,
            max_answer_length,
        )
        for i in range(0, start_logits.shape[0], chunk_size)
    ]
    if not parts:
        empty = start_logits.new_empty((0, n_best))
        long = torch.empty((0, n_best), dtype=torch.long, device=start_logits.device)
        return WindowCandidates(empty, long, long, long, long)
    return WindowCandidates(
        *(torch.cat([getattr(p, f) for p in parts]) for f in WindowCandidates.__dataclass_fields__)
    )


def _window_candidates_chunk(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    offsets: torch.Tensor,
    n_best: int,
    max_answer_length: int,
) -> WindowCandidates:
    offsets = offsets.to(start_logits.device, non_blocking=True)  # no host wait per batch
    in_context = offsets[..., 0] >= 0
    start = start_logits.float().masked_fill(~in_context, NEG_INF)
    end = end_logits.float().masked_fill(~in_context, NEG_INF)
    k = min(n_best, start.shape[1])
    top_start, top_start_idx = start.topk(k, dim=1)
    top_end, top_end_idx = end.topk(k, dim=1)
    pair = top_start[:, :, None] + top_end[:, None, :]  # [F, k, k]; −inf if either is −inf
    length = top_end_idx[:, None, :] - top_start_idx[:, :, None] + 1
    pair = pair.masked_fill((length < 1) | (length > max_answer_length), NEG_INF).flatten(1)
    scores, flat = pair.topk(k, dim=1)
    start_token = top_start_idx.gather(1, flat // k)
    end_token = top_end_idx.gather(1, flat % k)
    found = torch.isfinite(scores)
    start_char = offsets[..., 0].gather(1, start_token).long().masked_fill(~found, -1)
    end_char = offsets[..., 1].gather(1, end_token).long().masked_fill(~found, -1)
    if k < n_best:  # windows shorter than n_best tokens: pad to a fixed width
        pad = n_best - k
        scores = torch.nn.functional.pad(scores, (0, pad), value=NEG_INF)
        start_token, end_token, start_char, end_char = (
            torch.nn.functional.pad(t, (0, pad), value=-1)
            for t in (start_token, end_token, start_char, end_char)
        )
    return WindowCandidates(scores, start_token, end_token, start_char, end_char)


def pool_by_question(
    candidates: WindowCandidates,
    example_index: torch.Tensor,
    num_examples: int,
    n_best: int,
) -> QuestionSpans:
    """Pool window candidates per question, drop duplicate spans, keep the ``n_best`` best.

    ``example_index[f]`` is the question (0..num_examples-1) of scored window ``f``. Questions
    with no window get no candidate (all −inf), like questions whose windows have no valid span.

    Pooling pads every question to as many windows as the longest has; one long document
    among short ones would pad them all to its size (gigabytes for a SQuAD-sized pool), so
    questions are pooled in groups of similar window counts when padding would more than
    double the work. Rows are independent, so the result is the same.
    """
    example_index = example_index.to(candidates.scores.device).long()
    counts = torch.bincount(example_index, minlength=num_examples)
    groups = _groups_by_window_count(counts, len(example_index))
    if groups is None:
        return _pool_padded(candidates, example_index, counts, n_best)
    width = candidates.scores.shape[1]
    pooled = _empty_spans(num_examples, min(n_best, int(counts.max()) * width), candidates)
    local = torch.empty_like(counts)
    for questions in groups:
        windows = torch.isin(example_index, questions).nonzero().flatten()
        local[questions] = torch.arange(len(questions), device=counts.device)
        part = _pool_padded(
            _rows_of(candidates, windows), local[example_index[windows]], counts[questions], n_best
        )
        part.feature_index = torch.where(
            part.feature_index >= 0, windows[part.feature_index.clamp(min=0)], -1
        )
        for name in QuestionSpans.__dataclass_fields__:
            values = getattr(part, name)
            getattr(pooled, name)[questions, : values.shape[1]] = values
    return pooled


def _groups_by_window_count(counts: torch.Tensor, num_windows: int) -> list[torch.Tensor] | None:
    """The questions in groups whose window counts lie within a factor of 2 (1, 2, 3-4,
    5-8...); None when padding all to the longest costs at most twice the real windows."""
    most = int(counts.max()) if len(counts) else 0
    if len(counts) * most <= 2 * max(num_windows, len(counts)):
        return None
    bucket = torch.ceil(torch.log2(counts.clamp(min=1).double())).long()
    return [(bucket == b).nonzero().flatten() for b in torch.unique(bucket).tolist()]


def _rows_of(candidates: WindowCandidates, rows: torch.Tensor) -> WindowCandidates:
    return WindowCandidates(
        *(getattr(candidates, f)[rows] for f in WindowCandidates.__dataclass_fields__)
    )


def _empty_spans(num_examples: int, k: int, like: WindowCandidates) -> QuestionSpans:
    """Spans with no candidate (−inf scores, −1 indices), to be filled group by group."""
    scores = like.scores.new_full((num_examples, k), NEG_INF)
    index = like.start_char.new_full((num_examples, k), -1)
    return QuestionSpans(
        scores=scores,
        log_probs=scores.clone(),
        feature_index=index,
        start_token=index.clone(),
        end_token=index.clone(),
        start_char=index.clone(),
        end_char=index.clone(),
    )


def _pool_padded(
    candidates: WindowCandidates,
    example_index: torch.Tensor,
    counts: torch.Tensor,
    n_best: int,
) -> QuestionSpans:
    """:func:`pool_by_question` with every question padded to the most windows any has;
    ``counts[q]`` is question q's number of windows."""
    device = candidates.scores.device
    num_windows, width = candidates.scores.shape
    num_examples = len(counts)
    max_windows = max(int(counts.max()) if num_windows else 1, 1)
    order = torch.sort(example_index, stable=True).indices
    sorted_examples = example_index[order]
    first_of_example = torch.cumsum(counts, 0) - counts
    slot = torch.arange(num_windows, device=device) - first_of_example[sorted_examples]

    def scatter(values: torch.Tensor, fill: float) -> torch.Tensor:
        out = values.new_full((num_examples, max_windows, width), fill)
        out[sorted_examples, slot] = values[order]
        return out.flatten(1)

    scores = scatter(candidates.scores, NEG_INF)
    start_char = scatter(candidates.start_char, -1)
    end_char = scatter(candidates.end_char, -1)
    start_token = scatter(candidates.start_token, -1)
    end_token = scatter(candidates.end_token, -1)
    window_rows = torch.arange(num_windows, device=device)[:, None].expand(-1, width)
    feature_index = scatter(window_rows, -1)

    merged, deduped = _keep_each_span_once(scores, start_char, end_char)
    k = min(n_best, deduped.shape[1])
    top_scores, top = deduped.topk(k, dim=1)
    chosen = merged.gather(1, top)
    found = torch.isfinite(top_scores)

    def pick(values: torch.Tensor) -> torch.Tensor:
        return values.gather(1, chosen).masked_fill(~found, -1)

    log_norm = torch.logsumexp(top_scores, dim=1, keepdim=True)
    log_probs = torch.where(found, top_scores - log_norm, torch.full_like(top_scores, NEG_INF))
    return QuestionSpans(
        scores=top_scores,
        log_probs=log_probs,
        feature_index=pick(feature_index),
        start_token=pick(start_token),
        end_token=pick(end_token),
        start_char=pick(start_char),
        end_char=pick(end_char),
    )


def _keep_each_span_once(
    scores: torch.Tensor, start_char: torch.Tensor, end_char: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each (start_char, end_char) once per row, at its best score.

    Sorts by score, then stably by span key, so the first of every run of equal keys is its
    best occurrence; the others get −inf. Returns the column order and the deduplicated
    scores in that order.
    """
    key = start_char * (int(end_char.max()) + 2 if end_char.numel() else 1) + end_char
    no_span = -1 - torch.arange(key.shape[1], device=key.device)  # distinct: never merged
    key = torch.where(start_char >= 0, key, no_span)
    by_score = torch.sort(scores, dim=1, descending=True, stable=True).indices
    by_key = torch.sort(key.gather(1, by_score), dim=1, stable=True).indices
    merged = by_score.gather(1, by_key)
    sorted_key = key.gather(1, merged)
    duplicate = torch.zeros_like(sorted_key, dtype=torch.bool)
    duplicate[:, 1:] = sorted_key[:, 1:] == sorted_key[:, :-1]
    return merged, scores.gather(1, merged).masked_fill(duplicate, NEG_INF)


def null_scores(
    start_logits: torch.Tensor, end_logits: torch.Tensor, example_index: torch.Tensor, num_examples
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each question's "no answer" score and the window it comes from (−inf / −1 for none).

    A window's null score is start+end logit on [CLS]; a question's is the minimum over its
    windows, as in HF's ``postprocess_qa_predictions``: every window must agree that the
    answer is not in it.
    """
    device = start_logits.device
    example_index = example_index.to(device).long()
    window_null = start_logits[:, 0].float() + end_logits[:, 0].float()
    best = torch.full((num_examples,), float("inf"), device=device)
    best = best.scatter_reduce(0, example_index, window_null, "amin")
    rows = torch.arange(len(window_null), device=device)
    at_min = window_null == best[example_index]
    window = torch.full((num_examples,), len(window_null), dtype=torch.long, device=device)
    window = window.scatter_reduce(0, example_index[at_min], rows[at_min], "amin")
    found = window < len(window_null)
    return best.masked_fill(~found, NEG_INF), window.masked_fill(~found, -1)


def with_null_candidate(spans: QuestionSpans, score: torch.Tensor, window: torch.Tensor):
    """The spans plus one "no answer" candidate per question, re-sorted and re-normalised, so
    that the null option is one outcome of the distribution the strategies score."""
    found = window >= 0
    none = torch.full_like(window, -1)
    columns = {
        "scores": score,
        "feature_index": window,
        "start_token": torch.where(found, 0, -1),
        "end_token": torch.where(found, 0, -1),
        "start_char": none,
        "end_char": none,
    }
    merged = {
        name: torch.cat([getattr(spans, name), value[:, None].to(getattr(spans, name))], dim=1)
        for name, value in columns.items()
    }
    order = torch.sort(merged["scores"], dim=1, descending=True, stable=True).indices
    merged = {name: value.gather(1, order) for name, value in merged.items()}
    valid = torch.isfinite(merged["scores"])
    log_norm = torch.logsumexp(merged["scores"], dim=1, keepdim=True)
    log_probs = torch.where(valid, merged["scores"] - log_norm, NEG_INF)
    return QuestionSpans(log_probs=log_probs, **merged)


def question_spans(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    offsets: torch.Tensor,
    example_index: torch.Tensor,
    num_examples: int,
    n_best: int,
    max_answer_length: int,
    with_null: bool = False,
) -> QuestionSpans:
    """Window logits → pooled, deduplicated, normalised candidate spans per question.

    ``with_null`` (data with unanswerable questions) adds the "no answer" candidate: n_best
    spans plus the null option, so the null option never pushes a real span out.
    """
    candidates = window_candidates(start_logits, end_logits, offsets, n_best, max_answer_length)
    spans = pool_by_question(candidates, example_index, num_examples, n_best)
    if not with_null:
        return spans
    score, window = null_scores(start_logits, end_logits, example_index, num_examples)
    return with_null_candidate(spans, score, window)


def best_answers(
    spans: QuestionSpans, contexts: list[str], null_threshold: float = 0.0
) -> list[str]:
    """Text of each question's best span, for EM/F1; "" when it has none, or when its null
    score beats the best span's by more than ``null_threshold`` (HF's
    ``null_score_diff_threshold``; only with null candidates)."""
    is_null = spans.is_null
    span_scores = spans.scores.masked_fill(is_null, NEG_INF)
    best_span, best = span_scores.max(dim=1)
    null = spans.scores.masked_fill(~is_null, NEG_INF).max(dim=1).values
    abstain = torch.isfinite(null) & (
        (null - best_span > null_threshold) | ~torch.isfinite(best_span)
    )
    starts = spans.start_char.gather(1, best[:, None])[:, 0].tolist()
    ends = spans.end_char.gather(1, best[:, None])[:, 0].tolist()
    return [
        "" if no or s < 0 else c[s:e]
        for c, s, e, no in zip(contexts, starts, ends, abstain.tolist())
    ]
