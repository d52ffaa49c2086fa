"""Fine-tuning the QA model on the windows of the labeled questions.

A plain PyTorch loop rather than HF ``Trainer``: the AL loop retrains every round on a few
hundred questions, and owning the loop keeps per-round seeding, bf16 autocast, pseudo-labels
and auxiliary losses (loss prediction) simple, and keeps Trainer's own W&B reporting out.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from alqa.features import TokenizedQA
from alqa.inference import autocast_context, batch_inputs, to_device
from alqa.settings import autocast_bf16

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


def planned_steps(num_windows: int, batch_size: int, epochs: int, min_steps: int = 0) -> int:
    """Optimizer steps of one round: ``epochs`` passes, but never fewer than ``min_steps``.

    A few hundred labeled questions give a few dozen steps per epoch, too few for a model to
    learn span prediction at all; the floor makes small rounds run more epochs (ALToolbox's
    ``min_num_gradient_steps``), while large rounds keep their epochs.
    """
    steps_per_epoch = math.ceil(num_windows / batch_size)
    return max(steps_per_epoch * epochs, min_steps)


#: batches sorted together by length: enough to cut padding, few enough to keep batches random
GROUP_BATCHES = 32


def shuffled_batches(
    lengths: np.ndarray, batch_size: int, total_steps: int, generator: torch.Generator
) -> Iterator[np.ndarray]:
    """``total_steps`` batches of positions into ``lengths``, a fresh permutation every epoch.

    Batches are grouped by length as HF's ``LengthGroupedSampler`` does: each run of
    ``GROUP_BATCHES`` shuffled batches is sorted by window length before it is cut, and the
    batches are then shuffled again. A batch is trimmed to its longest window, so this nearly
    halves the tokens of a SQuAD epoch (random batches of 16 pad to about 1.8x the mean
    length). The last epoch may stop part-way, so the step count is exactly the one planned.
    """
    produced, size = 0, len(lengths)
    group = batch_size * GROUP_BATCHES
    while produced < total_steps:
        order = torch.randperm(size, generator=generator).numpy()
        batches = []
        for begin in range(0, size, group):
            chunk = order[begin : begin + group]
            chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
            batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
        for b in torch.randperm(len(batches), generator=generator).tolist():
            if produced == total_steps:
                return
            yield batches[b]
            produced += 1


def make_optimizer(
    parameters: list[torch.nn.Parameter], train_cfg: Any, total_steps: int, device: torch.device
):
    """AdamW (fused on CUDA) with linear warm-up and decay over the round's steps."""
    optimizer = torch.optim.AdamW(
        parameters,
        lr=float(train_cfg.learning_rate),
        weight_decay=float(train_cfg.weight_decay),
        fused=device.type == "cuda",
    )
    warmup = int(float(train_cfg.warmup_ratio) * total_steps)
    return optimizer, get_linear_schedule_with_warmup(optimizer, warmup, total_steps)


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
    """Train on the given windows; returns the mean loss of the last epoch's worth of steps
    and the number of optimizer steps taken.

    ``start_positions`` / ``end_positions`` (aligned with ``feature_indices``) override the
    gold labels: this is how pseudo-labels are trained on without ever becoming gold.
    """
    rows = np.asarray(feature_indices, dtype=np.int64)
    if len(rows) == 0:
        raise ValueError("no windows to train on")
    starts = features.start_positions[rows] if start_positions is None else start_positions
    ends = features.end_positions[rows] if end_positions is None else end_positions
    batch_size = int(train_cfg.batch_size)
    total_steps = planned_steps(
        len(rows), batch_size, int(train_cfg.epochs), int(train_cfg.min_steps)
    )
    parameters = [p for p in model.parameters() if p.requires_grad] + list(extra_parameters or [])
    optimizer, scheduler = make_optimizer(parameters, train_cfg, total_steps, device)
    generator = torch.Generator().manual_seed(seed)
    bf16 = autocast_bf16(train_cfg, device)
    model.to(device).train()
    losses = []  # device tensors: reading each loss would synchronise the host every step
    for batch in tqdm(
        shuffled_batches(features.lengths[rows].numpy(), batch_size, total_steps, generator),
        total=total_steps,
        desc="train",
        leave=False,
    ):
        inputs = batch_inputs(features, rows[batch], device)
        with autocast_context(device, bf16):
            output = model(**inputs, output_hidden_states=auxiliary_loss is not None)
            per_window = qa_loss_per_window(
                output, to_device(starts[batch], device), to_device(ends[batch], device)
            )
            loss = per_window.mean()
            if auxiliary_loss is not None:
                loss = loss + auxiliary_loss(output, inputs, per_window)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, float(train_cfg.max_grad_norm))
        optimizer.step()
        scheduler.step()
        losses.append(loss.detach())
    model.eval()
    last_epoch = losses[-math.ceil(len(rows) / batch_size) :]
    return {"train_loss": float(torch.stack(last_epoch).float().mean()), "train_steps": total_steps}


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``fn`` and return (its result, wall seconds), synchronising CUDA for honest timing."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    started = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - started
