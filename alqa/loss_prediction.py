"""Learning loss for active learning (Yoo & Kweon, CVPR 2019), for transformer QA models.

A small module reads intermediate hidden states of the QA model and predicts the QA loss of a
window. It is trained together with the QA model by a pairwise *ranking* loss, because only
the order of the predicted losses matters for a query and the true loss shrinks as training
goes on (regressing its value would chase a moving target). Unlabeled questions whose windows
have the largest predicted loss are then the ones worth labeling.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from alqa.inference import autocast_context, to_device


def spread_layers(num_hidden_layers: int, count: int = 3) -> list[int]:
    """``count`` encoder layers spread evenly over depth, the last one included.

    Indices are into HF ``hidden_states`` (0 = embeddings, ``num_hidden_layers`` = last layer),
    e.g. 12 layers → [4, 8, 12], 6 → [2, 4, 6], 2 → [1, 2]: like the paper's taps after each
    ResNet stage, from low-level to task-specific features.
    """
    if num_hidden_layers < 1:
        raise ValueError("the model has no encoder layer to read")
    count = min(count, num_hidden_layers)
    picked = {round(num_hidden_layers * (i + 1) / count) for i in range(count)}
    return sorted(picked)


class LossPredictionModule(nn.Module):
    """Predicts a window's QA loss from mean-pooled hidden states of a few encoder layers.

    Per tapped layer: masked mean over real tokens (the transformer analogue of the paper's
    global average pooling) → Linear(hidden, width) → ReLU; the features are concatenated →
    Linear → one scalar per window. ``detach_features`` stops its gradient at the backbone, so
    the ranking loss trains this module only and cannot pull the QA features towards it.

    The output layer starts at zero, so every window starts tied and the ranking the query
    uses is learned rather than a random projection: the module shares the QA optimizer, and
    at fine-tuning learning rates (1e-5 to 3e-4, a few hundred steps) a default-initialised
    head would barely move away from its random ordering.
    """

    def __init__(
        self,
        hidden_size: int,
        layers: Sequence[int],
        width: int = 128,
        detach_features: bool = True,
    ) -> None:
        super().__init__()
        if not layers:
            raise ValueError("the loss-prediction module needs at least one layer to read")
        self.layers = [int(layer) for layer in layers]
        self.detach_features = bool(detach_features)
        self.taps = nn.ModuleList(nn.Linear(hidden_size, width) for _ in self.layers)
        # no bias: the ranking loss is blind to a common offset, so a bias would never learn
        self.head = nn.Linear(width * len(self.layers), 1, bias=False)
        nn.init.zeros_(self.head.weight)

    def forward(
        self, hidden_states: Sequence[torch.Tensor], attention_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """[B] predicted loss from the model's ``hidden_states`` (each [B, T, H])."""
        if max(self.layers) >= len(hidden_states):
            raise ValueError(
                f"loss prediction reads layers {self.layers} but the model gives "
                f"{len(hidden_states)} hidden states"
            )
        features = []
        for layer, tap in zip(self.layers, self.taps):
            hidden = hidden_states[layer]
            if self.detach_features:
                hidden = hidden.detach()
            if attention_mask is None:
                pooled = hidden.mean(dim=1)
            else:
                mask = attention_mask[:, : hidden.shape[1], None].to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp_min(1.0)
            features.append(torch.relu(tap(pooled)))
        return self.head(torch.cat(features, dim=1)).squeeze(1).float()


def ranking_loss(predicted: torch.Tensor, true: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """The paper's loss-prediction loss: a margin ranking loss over pairs within the batch.

    The batch is split into halves i = [0, B/2) and j = [B/2, 2·⌊B/2⌋) (an odd last window is
    left out); per pair, mean of max(0, −s·(l̂_i − l̂_j) + ξ) with s = +1 if l_i > l_j else −1
    (the paper's 𝟙, ties → −1). ``true`` is detached: the QA loss is a target here, not
    something to minimise through this term.
    """
    half = predicted.shape[0] // 2
    if half == 0:
        return predicted.sum() * 0.0  # a batch of one has no pair; keep the graph intact
    true = true.detach().float()
    predicted = predicted.float()
    sign = torch.where(true[:half] > true[half : 2 * half], 1.0, -1.0)
    difference = predicted[:half] - predicted[half : 2 * half]
    return torch.clamp(margin - sign * difference, min=0.0).mean()


@torch.no_grad()
def predict_window_losses(
    module: LossPredictionModule,
    batches: Iterable[tuple[np.ndarray, dict[str, torch.Tensor], Any]],
    num_windows: int,
    device: torch.device,
    bf16: bool = False,
) -> torch.Tensor:
    """[num_windows] predicted loss of each window from no-grad forward ``batches``
    (positions, inputs, output with hidden states), as ``PoolScorer.forward`` yields them.

    Only the tapped layers' pooled features are used and one float per window is kept, on the
    device until the pass ends (no host synchronisation per batch).
    """
    predicted = torch.empty(num_windows, device=device)
    for positions, inputs, output in batches:
        with autocast_context(device, bf16):
            batch_losses = module(output.hidden_states, inputs["attention_mask"])
        predicted[to_device(positions, device)] = batch_losses.float()
    return predicted.cpu()


def max_per_question(
    window_values: torch.Tensor, window_question: torch.Tensor, num_questions: int
) -> torch.Tensor:
    """[num_questions] max over each question's windows (−inf for a question with none).

    A question is as worth labeling as its hardest window: labeling it labels all its windows.
    """
    out = torch.full((num_questions,), float("-inf"), dtype=torch.float32)
    return out.scatter_reduce(
        0, window_question.long(), window_values.float(), reduce="amax", include_self=True
    )
