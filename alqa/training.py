"""Fine-tuning the QA model on the windows of the labeled questions.

A plain PyTorch loop rather than HF ``Trainer``: the AL loop retrains every round on a few
hundred questions, and owning the loop keeps per-round seeding, bf16 autocast, pseudo-labels
and auxiliary losses (loss prediction) simple, and keeps Trainer's own W&B reporting out.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from alqa.features import TokenizedQA
from alqa.inference import autocast_context, batch_inputs

log = logging.getLogger(__name__)

#: optional extra loss: (model outputs, batch inputs, per-example QA loss) -> scalar
AuxiliaryLoss = Callable[[Any, dict[str, torch.Tensor], torch.Tensor], torch.Tensor]


def qa_loss_per_window(output, start_positions: torch.Tensor, end_positions: torch.Tensor):
    """Mean of start and end cross-entropy, per window (HF's QA loss, unreduced)."""
    start = torch.nn.functional.cross_entropy(
        output.start_logits.float(), start_positions, reduction="none"
    )
    end = torch.nn.functional.cross_entropy(
        output.end_logits.float(), end_positions, reduction="none"
    )
    return (start + end) / 2


def train_model(
    model: torch.nn.Module,
    features: TokenizedQA,
    feature_indices: np.ndarray,
    train_cfg: Any,
    device: torch.device,
    seed: int,
    *,
    start_positions: torch.Tensor | None = None,
    end_positions: torch.Tensor | None = None,
    auxiliary_loss: AuxiliaryLoss | None = None,
    extra_parameters: list[torch.nn.Parameter] | None = None,
) -> dict[str, float]:
    """Train on the given windows; returns the mean loss of the last epoch.

    ``start_positions`` / ``end_positions`` (aligned with ``feature_indices``) override the
    gold labels: this is how pseudo-labels are trained on without ever becoming gold.
    """
    rows = np.asarray(feature_indices, dtype=np.int64)
    if len(rows) == 0:
        raise ValueError("no windows to train on")
    starts = features.start_positions[rows] if start_positions is None else start_positions
    ends = features.end_positions[rows] if end_positions is None else end_positions
    batch_size = int(train_cfg.batch_size)
    epochs = int(train_cfg.epochs)
    steps_per_epoch = math.ceil(len(rows) / batch_size)
    total_steps = steps_per_epoch * epochs
    parameters = [p for p in model.parameters() if p.requires_grad] + list(extra_parameters or [])
    optimizer = torch.optim.AdamW(
        parameters, lr=float(train_cfg.learning_rate), weight_decay=float(train_cfg.weight_decay)
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(float(train_cfg.warmup_ratio) * total_steps), total_steps
    )
    generator = torch.Generator().manual_seed(seed)
    model.to(device).train()
    last_epoch_loss = float("nan")
    progress = tqdm(total=total_steps, desc="train", leave=False)
    for _ in range(epochs):
        order = torch.randperm(len(rows), generator=generator).numpy()
        losses = []
        for begin in range(0, len(rows), batch_size):
            batch = order[begin : begin + batch_size]
            inputs = batch_inputs(features, rows[batch], device)
            batch_starts = starts[batch].to(device)
            batch_ends = ends[batch].to(device)
            with autocast_context(device, bool(train_cfg.bf16)):
                output = model(**inputs, output_hidden_states=auxiliary_loss is not None)
                per_window = qa_loss_per_window(output, batch_starts, batch_ends)
                loss = per_window.mean()
                if auxiliary_loss is not None:
                    loss = loss + auxiliary_loss(output, inputs, per_window)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, float(train_cfg.max_grad_norm))
            optimizer.step()
            scheduler.step()
            losses.append(float(loss.detach()))
            progress.update(1)
        last_epoch_loss = float(np.mean(losses))
    progress.close()
    model.eval()
    return {"train_loss": last_epoch_loss}


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``fn`` and return (its result, wall seconds), synchronising CUDA for honest timing."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - started
