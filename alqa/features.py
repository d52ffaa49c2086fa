"""Tokenising questions into overlapping windows, once per run.

A long context is split into several windows (``max_length`` tokens, ``stride`` overlap). The
budget counts questions, so every tensor here carries ``example_index``: the question a window
belongs to. The same tokenised pool serves training (start/end labels) and scoring (character
offsets of context tokens), so the pool is tokenised once, not once per round.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from alqa.data import QARow
from alqa.settings import ConfigError

log = logging.getLogger(__name__)


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


FIELDS = (
    "input_ids",
    "attention_mask",
    "token_type_ids",
    "offsets",
    "example_index",
    "start_positions",
    "end_positions",
)


def _uncovered_lead(char: str) -> bool:
    """A space, a stray combining mark an uncased tokenizer drops, or a control or zero-width
    character BERT tokenizers remove: no token starts there."""
    return char.isspace() or unicodedata.category(char) in ("Mn", "Cf", "Cc")


def _uncovered_tail(char: str) -> bool:
    """A space, or a control or zero-width character (a right-to-left mark ending Arabic or
    Hebrew text): no token ends there. A trailing combining mark is covered instead (see
    :func:`cover_trailing_marks`)."""
    return char.isspace() or unicodedata.category(char) in ("Cf", "Cc")


def answer_char_span(context: str, start: int, text: str) -> tuple[int, int]:
    """The answer's characters [start, end) in the context, without the whitespace some
    exports keep around an answer (" Paris"), a stray combining mark it starts with, nor a
    zero-width or control character at either end: the model can only point at tokens, and
    the answer's tokens start at its first word and end at its last."""
    end = start + len(text)
    while start < end and _uncovered_lead(context[start]):
        start += 1
    while end > start and _uncovered_tail(context[end - 1]):
        end -= 1
    return start, end


def answer_token_span(
    offsets: np.ndarray, is_context: np.ndarray, char_start: int, char_end: int
) -> tuple[int, int]:
    """Start/end token of the answer [char_start, char_end) in one window; (0, 0), the [CLS]
    "not in this window" target, unless the answer lies wholly inside the window's context.

    The span is the run of context tokens that overlap the answer, so an answer that starts or
    ends inside a token takes that whole token (the model can only point at tokens), and a
    character no token covers (a space, an accent a tokenizer dropped) never pulls in the
    neighbouring token.
    """
    context_tokens = np.flatnonzero(is_context)
    if len(context_tokens) == 0 or char_end <= char_start:
        return 0, 0
    first, last = context_tokens[0], context_tokens[-1]
    if offsets[first, 0] > char_start or offsets[last, 1] < char_end:
        return 0, 0
    token_starts = offsets[first : last + 1, 0]
    token_ends = offsets[first : last + 1, 1]
    start = first + int(np.searchsorted(token_ends, char_start, side="right"))
    end = first + int(np.searchsorted(token_starts, char_end, side="left")) - 1
    return (start, end) if start <= end else (0, 0)


def _mark_run_ends(context: str) -> np.ndarray | None:
    """For each character position, where the run of nonspacing marks (Unicode Mn) starting
    there ends; None when the context has no such mark (the common case, found fast)."""
    if context.isascii() or not any(unicodedata.category(c) == "Mn" for c in set(context)):
        return None
    is_mark = [unicodedata.category(c) == "Mn" for c in context]
    positions = np.arange(len(context) + 1)
    not_mark = np.append(~np.asarray(is_mark, dtype=bool), True)
    candidates = np.where(not_mark, positions, len(context))
    return np.minimum.accumulate(candidates[::-1])[::-1]


def cover_trailing_marks(offsets: np.ndarray, is_context: np.ndarray, run_ends: np.ndarray) -> None:
    """Extend each context token of one window over the nonspacing marks that follow it.

    Uncased tokenizers strip accents, and their offsets then leave out a combining accent
    stored as its own character ("Cafe\u0301", decomposed text; many Indic vowel signs): an
    answer ending there would be cut before its accent. A token never grows past the next
    token's start. ``run_ends`` is the context's :func:`_mark_run_ends`; works in place on
    ``offsets`` [L, 2]."""
    tokens = np.flatnonzero(is_context)
    starts, ends = offsets[tokens, 0], offsets[tokens, 1]
    limit = np.append(starts[1:], run_ends[-1])
    grown = np.minimum(run_ends[np.clip(ends, 0, len(run_ends) - 1)], np.maximum(limit, ends))
    offsets[tokens, 1] = np.where(ends > starts, grown, ends)


def answer_targets(
    offsets: np.ndarray, is_context: np.ndarray, context: str, answers: dict
) -> tuple[int, int]:
    """Start/end token of a question's first answer (its training target, as HF takes it) in
    one window; (0, 0) ([CLS]) for "no answer" or an answer not wholly in the window."""
    if not answers["text"]:
        return 0, 0
    span = answer_char_span(context, int(answers["answer_start"][0]), answers["text"][0])
    return answer_token_span(offsets, is_context, *span)


def question_token_limit(tokenizer, max_length: int, stride: int) -> int:
    """The most tokens a question may take in a window: half the room left past the special
    tokens and the stride, so each next window moves the context on by at least as many
    tokens as the question has. A longer question would make the tokenizer panic (no room
    past the stride) or cut a context into hundreds of windows one token apart."""
    room = max_length - tokenizer.num_special_tokens_to_add(pair=True) - stride
    limit = room // 2
    if limit < 1:
        raise ConfigError(
            f"model.stride ({stride}) leaves no room for a question in model.max_length "
            f"({max_length})-token windows: lower model.stride or raise model.max_length"
        )
    return limit


def _cut_question(question: str, offsets: Sequence[tuple[int, int]], tokenizer, limit: int) -> str:
    """The question's first ``limit`` tokens, as text (cut at a token's end; a cut inside a
    word can tokenise into more pieces, so it steps back until it fits)."""
    for last in range(limit - 1, -1, -1):
        cut = question[: offsets[last][1]]
        if len(tokenizer(cut, add_special_tokens=False)["input_ids"]) <= limit:
            return cut
    return ""


def fitting_questions(rows: Sequence[QARow], tokenizer, limit: int) -> tuple[list[str], list[int]]:
    """The rows' questions, those longer than ``limit`` tokens cut to their first ``limit``
    (as BERT's ``max_query_length`` does), and the positions of the cut ones."""
    questions = [r["question"].lstrip() for r in rows]
    encoded = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    cut_at: list[int] = []
    for i, offsets in enumerate(encoded["offset_mapping"]):
        if len(offsets) > limit:
            questions[i] = _cut_question(questions[i], offsets, tokenizer, limit)
            cut_at.append(i)
    return questions, cut_at


def _warn_of_cut_questions(rows: Sequence[QARow], cut_at: list[int], limit: int, what: str):
    if cut_at:
        log.warning(
            "%s: %d of %d questions are longer than %d tokens, the most these windows leave "
            "a question; their first %d tokens are kept (first: %s). To keep more, raise "
            "model.max_length or lower model.stride",
            what,
            len(cut_at),
            len(rows),
            limit,
            limit,
            ", ".join(str(rows[i]["id"]) for i in cut_at[:5]),
        )


def _encode_chunk(
    chunk: Sequence[QARow], questions: Sequence[str], tokenizer, max_length: int, stride: int
) -> dict[str, np.ndarray]:
    """Windows of a few questions, as arrays (``example_index`` local to the chunk)."""
    encoded = tokenizer(
        list(questions),
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
    is_context = np.array([[s == 1 for s in encoded.sequence_ids(w)] for w in range(len(offsets))])
    starts = np.zeros(len(sample_map), dtype=np.int64)
    ends = np.zeros(len(sample_map), dtype=np.int64)
    mark_runs = {context: _mark_run_ends(context) for context in {r["context"] for r in chunk}}
    for w, question in enumerate(sample_map):
        row = chunk[question]
        run_ends = mark_runs[row["context"]]
        if run_ends is not None:
            cover_trailing_marks(offsets[w], is_context[w], run_ends)
        starts[w], ends[w] = answer_targets(
            offsets[w], is_context[w], row["context"], row["answers"]
        )
    offsets[~is_context] = -1
    arrays = {
        "input_ids": np.asarray(encoded["input_ids"], dtype=np.int32),
        "attention_mask": np.asarray(encoded["attention_mask"], dtype=np.int8),
        "offsets": offsets,
        "example_index": sample_map,
        "start_positions": starts,
        "end_positions": ends,
    }
    if "token_type_ids" in encoded:
        arrays["token_type_ids"] = np.asarray(encoded["token_type_ids"], dtype=np.int8)
    return arrays


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
    limit = question_token_limit(tokenizer, max_length, stride)  # also refuses stride ≥ length
    chunks, cut_at = [], []
    for begin in tqdm(range(0, len(rows), chunk_size), desc=description, leave=False):
        chunk = rows[begin : begin + chunk_size]
        questions, cut = fitting_questions(chunk, tokenizer, limit)
        arrays = _encode_chunk(chunk, questions, tokenizer, max_length, stride)
        arrays["example_index"] = arrays["example_index"] + begin
        chunks.append(arrays)
        cut_at += [begin + i for i in cut]
    _warn_of_cut_questions(rows, cut_at, limit, description)

    def cat(key: str) -> torch.Tensor | None:
        if not chunks or key not in chunks[0]:
            return None
        return torch.from_numpy(np.concatenate([c[key] for c in chunks]))

    tensors = {key: cat(key) for key in FIELDS}
    return TokenizedQA(
        **tensors,
        lengths=tensors["attention_mask"].sum(dim=1, dtype=torch.int64),
        num_examples=len(rows),
    )
