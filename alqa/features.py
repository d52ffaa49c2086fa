"""Tokenising questions into overlapping windows, once per run.

A long context is split into several windows (``max_length`` tokens, ``stride`` overlap). The
budget counts questions, so every tensor here carries ``example_index``: the question a window
belongs to. The same tokenised pool serves training (start/end labels) and scoring (character
offsets of context tokens), so the pool is tokenised once, not once per round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from alqa.data import QARow


@dataclass
class TokenizedQA:
    """Windows of a set of questions, padded to ``max_length``.

    ``offsets`` holds character offsets into the context for context tokens and -1 for every
    other token (question, special, padding), which is what span scoring needs to stay inside
    the context.
    """

    input_ids: torch.Tensor  # [F, L] int32
    attention_mask: torch.Tensor  # [F, L] int8
    token_type_ids: torch.Tensor | None  # [F, L] int8
    offsets: torch.Tensor  # [F, L, 2] int32, -1 outside the context
    example_index: torch.Tensor  # [F] int64: which question a window belongs to
    start_positions: torch.Tensor  # [F] int64: answer start token, 0 (CLS) if not in window
    end_positions: torch.Tensor  # [F] int64
    lengths: torch.Tensor  # [F] int64: real tokens in the window
    num_examples: int

    @property
    def num_features(self) -> int:
        return int(self.input_ids.shape[0])

    def features_of(self, example_indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Indices of all windows that belong to the given questions."""
        wanted = np.zeros(self.num_examples, dtype=bool)
        wanted[np.asarray(example_indices, dtype=np.int64)] = True
        return np.flatnonzero(wanted[self.example_index.numpy()])


def tokenize_questions(
    rows: Sequence[QARow],
    tokenizer,
    max_length: int,
    stride: int,
    chunk_size: int = 1000,
    description: str = "tokenize",
) -> TokenizedQA:
    """Tokenise questions into windows with labels and context offsets (HF ``prepare_*``)."""
    if tokenizer.padding_side != "right":
        raise ValueError("alqa expects a right-padding tokenizer (question first, context second)")
    if stride >= max_length:
        raise ValueError(
            f"model.stride ({stride}) must be smaller than model.max_length ({max_length})"
        )
    parts: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "input_ids",
            "attention_mask",
            "token_type_ids",
            "offsets",
            "example_index",
            "start_positions",
            "end_positions",
        )
    }
    has_token_types = True
    for chunk_start in tqdm(range(0, len(rows), chunk_size), desc=description, leave=False):
        chunk = rows[chunk_start : chunk_start + chunk_size]
        encoded = tokenizer(
            [r["question"].lstrip() for r in chunk],
            [r["context"] for r in chunk],
            truncation="only_second",
            max_length=max_length,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="max_length",
        )
        sample_map = np.asarray(encoded["overflow_to_sample_mapping"], dtype=np.int64)
        offsets = np.asarray(encoded["offset_mapping"], dtype=np.int32)
        num_windows = len(sample_map)
        is_context = np.zeros(offsets.shape[:2], dtype=bool)
        starts = np.zeros(num_windows, dtype=np.int64)
        ends = np.zeros(num_windows, dtype=np.int64)
        for w in range(num_windows):
            sequence_ids = encoded.sequence_ids(w)
            is_context[w] = [s == 1 for s in sequence_ids]
            answers = chunk[sample_map[w]]["answers"]
            if not answers["text"]:
                continue
            char_start = answers["answer_start"][0]
            char_end = char_start + len(answers["text"][0])
            context_tokens = np.flatnonzero(is_context[w])
            first, last = context_tokens[0], context_tokens[-1]
            if offsets[w, first, 0] > char_start or offsets[w, last, 1] < char_end:
                continue  # answer not fully inside this window: label is CLS (0, 0)
            token_starts = offsets[w, first : last + 1, 0]
            token_ends = offsets[w, first : last + 1, 1]
            starts[w] = first + int(np.searchsorted(token_starts, char_start, side="right")) - 1
            ends[w] = first + int(np.searchsorted(token_ends, char_end, side="left"))
        offsets[~is_context] = -1
        parts["input_ids"].append(np.asarray(encoded["input_ids"], dtype=np.int32))
        parts["attention_mask"].append(np.asarray(encoded["attention_mask"], dtype=np.int8))
        if "token_type_ids" in encoded:
            parts["token_type_ids"].append(np.asarray(encoded["token_type_ids"], dtype=np.int8))
        else:
            has_token_types = False
        parts["offsets"].append(offsets)
        parts["example_index"].append(sample_map + chunk_start)
        parts["start_positions"].append(starts)
        parts["end_positions"].append(ends)

    def cat(key: str) -> torch.Tensor:
        return torch.from_numpy(np.concatenate(parts[key]))

    attention_mask = cat("attention_mask")
    return TokenizedQA(
        input_ids=cat("input_ids"),
        attention_mask=attention_mask,
        token_type_ids=cat("token_type_ids") if has_token_types else None,
        offsets=cat("offsets"),
        example_index=cat("example_index"),
        start_positions=cat("start_positions"),
        end_positions=cat("end_positions"),
        lengths=attention_mask.sum(dim=1, dtype=torch.int64),
        num_examples=len(rows),
    )
