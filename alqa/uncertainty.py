"""Uncertainty measures over a question's candidate-span distribution: the shared math.

Each function takes span probabilities [E, n] (rows summing to 1 over valid spans, 0 on
padding) and returns [E] scores where higher means more uncertain. A question with no valid
span at all is the most uncertain thing there is: the model cannot even propose an answer, so
it scores +inf in every measure.
"""

from __future__ import annotations

import torch


def _no_span(probs: torch.Tensor) -> torch.Tensor:
    return probs.sum(dim=1) <= 0


def least_confidence(probs: torch.Tensor) -> torch.Tensor:
    """1 − probability of the best span."""
    score = 1.0 - probs.max(dim=1).values
    return score.masked_fill(_no_span(probs), float("inf"))


def margin(probs: torch.Tensor) -> torch.Tensor:
    """−(p_best − p_second): the smaller the gap between the two best spans, the higher.

    Top-2 is taken by value, not by position, so it is right even for unsorted rows. A question
    with a single candidate has gap p_best − 0.
    """
    if probs.shape[1] == 1:
        gap = probs[:, 0]
    else:
        top2 = probs.topk(2, dim=1).values
        gap = top2[:, 0] - top2[:, 1]
    return (-gap).masked_fill(_no_span(probs), float("inf"))


def entropy(probs: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) of the span distribution, with 0·log 0 = 0."""
    plogp = torch.where(probs > 0, probs * probs.clamp_min(1e-30).log(), torch.zeros_like(probs))
    return (-plogp.sum(dim=1)).masked_fill(_no_span(probs), float("inf"))
