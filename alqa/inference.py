"""Running the model over tokenised windows: logits, MC-dropout passes and embeddings.

Windows are processed in batches sorted by length and trimmed to the longest real window of
the batch: on SQuAD most windows are far shorter than 384 tokens, so this roughly halves the
work compared with always feeding padded windows.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from tqdm.auto import tqdm

from alqa.features import TokenizedQA


@dataclass
class WindowOutputs:
    """Outputs for a subset of windows, rows in the order of ``feature_indices``."""

    feature_indices: np.ndarray  # [F] rows of the TokenizedQA
    start_logits: torch.Tensor  # [F, L] (−inf beyond each batch's trimmed length)
    end_logits: torch.Tensor  # [F, L]
    cls_embeddings: torch.Tensor | None = None  # [F, H] last layer [CLS], when asked for
    reduced: torch.Tensor | None = None  # [F, D] what a WindowReducer made of each window


class WindowReducer(Protocol):
    """Turns one batch's outputs (hidden states included) into a [B, D] row per window, inside
    the pass itself, so that a strategy needing more than logits (BADGE's gradient embedding)
    does not run a second pass over the pool. ``key`` names it in the round's memo."""

    key: str

    def __call__(
        self, rows: np.ndarray, inputs: dict[str, torch.Tensor], output: Any
    ) -> torch.Tensor: ...


def batch_inputs(
    features: TokenizedQA, rows: np.ndarray, device: torch.device
) -> dict[str, torch.Tensor]:
    """Model inputs for the given windows, trimmed to their longest real length."""
    index = torch.as_tensor(rows, dtype=torch.long)
    length = int(features.lengths[index].max())
    inputs = {
        "input_ids": features.input_ids[index, :length].long(),
        "attention_mask": features.attention_mask[index, :length].long(),
    }
    if features.token_type_ids is not None:
        inputs["token_type_ids"] = features.token_type_ids[index, :length].long()
    return {k: to_device(v, device) for k, v in inputs.items()}


def to_device(values: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """``values`` copied to ``device`` without waiting: a blocking copy from host memory makes
    the host wait for the GPU to drain, which per batch stalls every pass and training step."""
    return torch.as_tensor(values).to(device, non_blocking=True)


@functools.cache
def cpu_has_native_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether this CPU computes bf16 matrix products natively (AVX512-BF16 or AMX). Without
    either, bf16 autocast on a CPU is emulated and slower than fp32, so it is never used."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:  # not Linux: no flags to read, so no CPU bf16
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def bf16_hardware(device: torch.device) -> bool:
    """Whether bf16 autocast is worth it on this device: a GPU or a CPU with native bf16."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and cpu_has_native_bf16()


def autocast_context(device: torch.device, bf16: bool):
    """bf16 autocast where asked for and the hardware has it (see :func:`bf16_hardware`);
    a no-op elsewhere. Callers decide per device type (``TrainSettings.autocast_bf16``)."""
    enabled = bool(bf16) and bf16_hardware(device)
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=enabled)


@torch.no_grad()
def forward_batches(
    model: torch.nn.Module,
    features: TokenizedQA,
    rows: np.ndarray,
    batch_size: int,
    device: torch.device,
    *,
    dropout: bool = False,
    output_hidden_states: bool = False,
    bf16: bool = False,
    description: str = "score",
) -> Iterator[tuple[np.ndarray, dict[str, torch.Tensor], object]]:
    """Forward passes over windows in length-sorted, trimmed batches, without gradients.

    Yields (positions into ``rows``, batch inputs, model output) per batch; the caller reduces
    each batch at once, so no [F, L, H] hidden states are ever kept. ``dropout=True`` keeps
    dropout active (one Monte-Carlo pass); the model is left in eval mode afterwards.
    """
    rows = np.asarray(rows, dtype=np.int64)
    by_length = np.argsort(-features.lengths[torch.as_tensor(rows)].numpy(), kind="stable")
    model.train(dropout)
    try:
        for begin in tqdm(range(0, len(rows), batch_size), desc=description, leave=False):
            positions = by_length[begin : begin + batch_size]
            inputs = batch_inputs(features, rows[positions], device)
            with autocast_context(device, bf16):
                output = model(**inputs, output_hidden_states=output_hidden_states)
            yield positions, inputs, output
    finally:
        model.eval()


def predict_windows(
    model: torch.nn.Module,
    features: TokenizedQA,
    feature_indices: Sequence[int] | np.ndarray,
    batch_size: int,
    device: torch.device,
    *,
    dropout: bool = False,
    with_embeddings: bool = False,
    reduce: WindowReducer | None = None,
    bf16: bool = False,
    description: str = "score",
) -> WindowOutputs:
    """Start/end logits (optionally [CLS] embeddings, and ``reduce``'s rows) of the given
    windows.

    ``dropout=True`` keeps dropout active, which makes each call one Monte-Carlo pass.
    """
    rows = np.asarray(feature_indices, dtype=np.int64)
    max_length = features.input_ids.shape[1]
    start = torch.full((len(rows), max_length), float("-inf"), device=device)
    end = torch.full((len(rows), max_length), float("-inf"), device=device)
    embeddings = reduced = None
    for positions, inputs, output in forward_batches(
        model,
        features,
        rows,
        batch_size,
        device,
        dropout=dropout,
        output_hidden_states=with_embeddings or reduce is not None,
        bf16=bf16,
        description=description,
    ):
        length = inputs["input_ids"].shape[1]
        where = to_device(positions, device)
        start[where, :length] = output.start_logits.float()
        end[where, :length] = output.end_logits.float()
        if with_embeddings:
            cls = output.hidden_states[-1][:, 0].float()
            if embeddings is None:
                embeddings = torch.empty((len(rows), cls.shape[1]), device=device)
            embeddings[where] = cls
        if reduce is not None:
            row_values = reduce(rows[positions], inputs, output).float()
            if reduced is None:
                reduced = torch.empty((len(rows), row_values.shape[1]), device=device)
            reduced[where] = row_values
    return WindowOutputs(rows, start, end, embeddings, reduced)
