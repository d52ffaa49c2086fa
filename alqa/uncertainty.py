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


# Monte-Carlo dropout measures. Each takes span probabilities of T dropout passes [T, E, n] on
# one fixed candidate set per question (see alqa/mc_dropout.py), padding 0 in every pass.


def mc_mean_probs(pass_probs: torch.Tensor) -> torch.Tensor:
    """[E, n] predictive distribution: the span probabilities averaged over the T passes."""
    return pass_probs.mean(dim=0)


def _mc_no_span(pass_probs: torch.Tensor) -> torch.Tensor:
    return _no_span(mc_mean_probs(pass_probs))


def bald(pass_probs: torch.Tensor) -> torch.Tensor:
    """Mutual information between the answer span and the weights: H[mean_t p_t] − mean_t H[p_t].

    High when every pass is confident but passes disagree (epistemic uncertainty), zero when all
    passes give the same distribution, however flat (aleatoric only).
    """
    passes, questions, width = pass_probs.shape
    per_pass = entropy(pass_probs.reshape(passes * questions, width)).reshape(passes, questions)
    information = (entropy(mc_mean_probs(pass_probs)) - per_pass.mean(dim=0)).clamp_min(0.0)
    return information.masked_fill(_mc_no_span(pass_probs), float("inf"))


def variation_ratio(pass_probs: torch.Tensor) -> torch.Tensor:
    """1 − (passes whose best span is the modal one) / T: how often the passes' answers differ."""
    passes, _, width = pass_probs.shape
    votes = torch.nn.functional.one_hot(pass_probs.argmax(dim=2), width).sum(dim=0)  # [E, n]
    ratio = 1.0 - votes.max(dim=1).values.to(pass_probs.dtype) / passes
    return ratio.masked_fill(_mc_no_span(pass_probs), float("inf"))


def mean_std(pass_probs: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over a question's candidate spans of the std (over passes) of their probability.

    ``valid`` [E, n] marks real candidates (default: probability > 0 in some pass) so padding
    does not dilute the mean. The std is the population one, sqrt(E[p²] − E[p]²), as in
    Kampffmeyer et al. (2016) and Gal et al. (2017).
    """
    if valid is None:
        valid = (pass_probs > 0).any(dim=0)
    std = pass_probs.std(dim=0, correction=0).masked_fill(~valid, 0.0)
    score = std.sum(dim=1) / valid.sum(dim=1).clamp_min(1)
    return score.masked_fill(~valid.any(dim=1) | _mc_no_span(pass_probs), float("inf"))
