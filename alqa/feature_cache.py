"""Tokenised windows cached on disk, so the jobs of a sweep tokenise a pool once, not each.

Tokenising the whole SQuAD v1.1 train set takes about a minute and a half on a CPU, and every
job of a sweep (strategies × seeds) tokenises the same pool again. The windows depend only on
the questions, the tokenizer and the window settings, so they are cached under a key made of
exactly those: the rows' content (ids, questions, contexts, answers, in order), the
tokenizer's full definition (vocabulary included), ``max_length``, ``stride`` and this
module's format. Any change in the data, a subsample, the tokenizer or the windows gives
another key; a damaged file is ignored and rewritten.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from alqa.atomic import atomic_save_torch
from alqa.data import QARow
from alqa.features import TokenizedQA

log = logging.getLogger(__name__)

#: bump when TokenizedQA or the tokenisation changes, so old cache files are not read
FORMAT = 4  # 2: over-long questions cut to fit; 3: answer targets and offsets past spaces/marks;
# 4: trailing zero-width and control characters left out of answer targets


#: fingerprint digests by tokenizer object: a run keys its pool and its eval set with one
_DIGESTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def tokenizer_digest(tokenizer) -> bytes:
    """sha256 of :func:`tokenizer_fingerprint`, computed once per tokenizer object."""
    try:
        return _DIGESTS[tokenizer]
    except (KeyError, TypeError):  # TypeError: an object that takes no weak reference
        digest = hashlib.sha256(tokenizer_fingerprint(tokenizer)).digest()
    with contextlib.suppress(TypeError):
        _DIGESTS[tokenizer] = digest
    return digest


def tokenizer_fingerprint(tokenizer) -> bytes:
    """Everything that decides how the tokenizer cuts text: its class, padding side and, for a
    fast tokenizer, its serialised definition (normaliser, vocabulary, post-processor...)
    without the truncation and padding state, which every encoding call sets anew."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        definition = json.loads(backend.to_str())
        definition.pop("truncation", None)
        definition.pop("padding", None)
    else:
        definition = sorted(tokenizer.get_vocab().items())
    head = [type(tokenizer).__name__, tokenizer.padding_side, tokenizer.truncation_side]
    return json.dumps([head, definition], sort_keys=True).encode()


def cache_key(rows: Sequence[QARow], tokenizer, max_length: int, stride: int) -> str:
    """A content hash of what the windows are made from."""
    digest = hashlib.sha256(json.dumps([FORMAT, max_length, stride]).encode())
    digest.update(tokenizer_digest(tokenizer))
    for row in rows:
        record = [row["id"], row["question"], row["context"], row["answers"]]
        digest.update(json.dumps(record, ensure_ascii=False).encode())
    return digest.hexdigest()[:32]


def _load(path: Path) -> TokenizedQA | None:
    try:
        stored = torch.load(path, weights_only=True)
        return TokenizedQA(**stored)
    except Exception as error:  # noqa: BLE001 - any unreadable file is simply recomputed
        log.warning("ignoring the unreadable feature cache %s (%s); recomputing", path, error)
        return None


def cached_features(
    cache_dir: str | Path | None,
    rows: Sequence[QARow],
    tokenizer,
    max_length: int,
    stride: int,
    tokenize: Callable[[], TokenizedQA],
) -> TokenizedQA:
    """``tokenize()``'s windows, read from ``cache_dir`` when they were computed before (and
    written there when not). ``cache_dir=None`` turns the cache off."""
    if cache_dir is None:
        return tokenize()
    path = Path(cache_dir).expanduser() / f"{cache_key(rows, tokenizer, max_length, stride)}.pt"
    if path.is_file():
        features = _load(path)
        if features is not None and features.num_examples == len(rows):
            log.info("tokenised windows read from the cache %s", path)
            return features
    features = tokenize()
    try:
        fields = {f.name: getattr(features, f.name) for f in dataclasses.fields(features)}
        atomic_save_torch(path, fields)
    except OSError as error:  # a full or read-only cache must not stop the run
        log.warning("could not write the feature cache %s (%s)", path, error)
    return features
