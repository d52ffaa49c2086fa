"""Monte-Carlo dropout passes over the pool, scored on a fixed set of candidate spans.

Every MC strategy needs the same thing: for each candidate question, a distribution over its
candidate spans in each of T passes with dropout on (Gal & Ghahramani 2016). The candidate set
is the deterministic pass's n-best (``PoolScorer.spans()``), identified by character offsets
and re-scored in every pass from that pass's logits at the same window and tokens. A fixed
support is what makes passes comparable: averaging "the best span of each pass" would average
different answers whenever two passes rank the spans differently. Spans that only enter the
top n under dropout are ignored; they are by construction low-probability ones.
"""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import torch

from alqa.pool_scoring import PoolScorer
from alqa.span_scoring import NEG_INF, QuestionSpans


def cache_key(passes: int, attention_dropout: bool = True, subset_size: int | None = None) -> tuple:
    """Memo key of ``mc_span_log_probs``'s result in the round's ``PoolScorer``."""
    key: tuple = ("mc_span_log_probs", int(passes))
    if not attention_dropout:
        key += ("hidden dropout only",)
    if subset_size is not None:
        key += (("prefiltered", int(subset_size)),)
    return key


def attention_probability_dropouts(model: torch.nn.Module) -> list[torch.nn.Dropout]:
    """Dropout layers applied to attention probabilities (inside a *SelfAttention module).

    On a CPU, sampling these [batch, heads, L, L] masks is most of the cost of an MC pass
    (measured on MiniLM: 10.8 s per batch with them, 4.4 s without, 4.1 s in eval mode).
    Dropout on hidden states (``*SelfOutput``, ``*Output``) is left alone.
    """
    found = []
    for module in model.modules():
        owner = type(module).__name__
        if "Attention" in owner and "Output" not in owner:
            found.extend(c for c in module.children() if isinstance(c, torch.nn.Dropout))
    return found


@contextlib.contextmanager
def without_attention_dropout(model: torch.nn.Module):
    """Temporarily set attention-probability dropout to 0 (restored afterwards)."""
    layers = attention_probability_dropouts(model)
    saved = [layer.p for layer in layers]
    try:
        for layer in layers:
            layer.p = 0.0
        yield layers
    finally:
        for layer, p in zip(layers, saved):
            layer.p = p


def span_log_probs(
    start_logits: torch.Tensor, end_logits: torch.Tensor, spans: QuestionSpans
) -> torch.Tensor:
    """Log-softmax over each question's candidate spans, re-scored from the given logits.

    ``start_logits``/``end_logits`` are [F, L] or [T, F, L] (any leading dims): rows are the
    scored windows that ``spans.feature_index`` points into. Returns [..., E, n], −inf on
    padding and for questions with no candidate. With the deterministic logits this gives back
    ``spans.log_probs``.
    """
    valid = spans.feature_index >= 0
    if not bool(valid.any()):  # nothing to gather (possibly not even a window)
        shape = (*start_logits.shape[:-2], *valid.shape)
        return torch.full(shape, NEG_INF, device=start_logits.device)
    window = spans.feature_index.clamp_min(0)
    start = start_logits[..., window, spans.start_token.clamp_min(0)]
    end = end_logits[..., window, spans.end_token.clamp_min(0)]
    scores = (start.float() + end.float()).masked_fill(~valid, NEG_INF)
    log_norm = torch.logsumexp(scores, dim=-1, keepdim=True)
    return torch.where(valid, scores - log_norm, torch.full_like(scores, NEG_INF))


def mc_span_log_probs(
    scorer: PoolScorer,
    rng: np.random.Generator,
    passes: int,
    attention_dropout: bool = True,
    subset: np.ndarray | None = None,
    passes_per_batch: int = 1,
) -> torch.Tensor:
    """[T, E, n] candidate-span log-probabilities of the candidates in ``passes`` dropout passes.

    Only the windows that host a candidate span are re-run. Dropout masks are drawn from a
    torch seed taken from ``rng``, inside a forked RNG: picks are reproducible per round and
    the global torch stream (training's shuffling and dropout) is left untouched. Memoised
    per round; the time goes to ``scorer.model_seconds``.
    ``attention_dropout=False`` keeps dropout on hidden states only: much cheaper on a CPU.
    ``subset`` (positions into the candidates) runs the passes for those questions only, and
    the result has their rows only. ``passes_per_batch`` runs that many passes in one forward
    batch (each copy of a window draws its own dropout mask): larger batches for a GPU.
    """
    if passes < 1:
        raise ValueError(f"strategy.mc_passes must be at least 1, got {passes}")
    if passes_per_batch < 1:
        raise ValueError(f"strategy.mc_batch_passes must be at least 1, got {passes_per_batch}")
    subset = None if subset is None else np.asarray(subset, dtype=np.int64)
    key = cache_key(passes, attention_dropout, None if subset is None else len(subset))
    return scorer.memo(
        key,
        lambda: _mc_passes(scorer, rng, passes, attention_dropout, subset, passes_per_batch),
    )


def _span_windows(
    scorer: PoolScorer, subset: np.ndarray | None
) -> tuple[np.ndarray, QuestionSpans]:
    """The pool rows of the windows hosting a candidate span (of the ``subset`` questions),
    and those questions' spans re-indexed to them."""
    spans = scorer.spans()
    if subset is not None:
        rows = torch.as_tensor(subset, device=spans.scores.device)
        spans = QuestionSpans(
            **{f.name: getattr(spans, f.name)[rows] for f in dataclasses.fields(spans)}
        )
    outputs = scorer.window_outputs()
    valid = spans.feature_index >= 0
    used = torch.unique(spans.feature_index[valid])  # rows of ``outputs`` that host a span
    remap = torch.full((len(outputs.feature_indices),), -1, dtype=torch.long, device=used.device)
    remap[used] = torch.arange(len(used), device=used.device)
    local = dataclasses.replace(
        spans, feature_index=torch.where(valid, remap[spans.feature_index.clamp_min(0)], -1)
    )
    return outputs.feature_indices[used.cpu().numpy()], local


def _mc_passes(
    scorer: PoolScorer,
    rng: np.random.Generator,
    passes: int,
    attention_dropout: bool,
    subset: np.ndarray | None,
    passes_per_batch: int,
) -> torch.Tensor:
    rows, local = _span_windows(scorer, subset)
    seed = int(rng.integers(2**63 - 1))
    cuda = [scorer.device] if scorer.device.type == "cuda" else []
    switch = (
        contextlib.nullcontext() if attention_dropout else without_attention_dropout(scorer.model)
    )
    per_pass = []
    with torch.random.fork_rng(devices=cuda), switch:
        torch.manual_seed(seed)
        for first in range(0, passes, passes_per_batch):
            group = min(passes_per_batch, passes - first)
            mc = scorer.predict(
                np.tile(rows, group),
                dropout=True,
                batch_size=scorer.batch_size * group,
                description=f"mc dropout {first + group}/{passes}",
            )
            starts = mc.start_logits.reshape(group, len(rows), -1)
            ends = mc.end_logits.reshape(group, len(rows), -1)
            per_pass.extend(span_log_probs(s, e, local) for s, e in zip(starts, ends))
    return torch.stack(per_pass)
