"""The on-disk cache of tokenised windows: hit when nothing changed, miss when anything did."""

from __future__ import annotations

import logging
import weakref

import pytest
import torch
from conftest import REPO_ROOT, run_tiny
from omegaconf import OmegaConf

import alqa.experiment
from alqa import feature_cache
from alqa.data import read_qa_file
from alqa.feature_cache import cached_features
from alqa.features import tokenize_questions
from alqa.modeling import load_tokenizer


@pytest.fixture(scope="module")
def rows_and_tokenizer(tiny_data):
    model_cfg = OmegaConf.load(REPO_ROOT / "conf" / "model" / "tiny.yaml")
    return read_qa_file(tiny_data["train"]), load_tokenizer(model_cfg)


class CountingTokenize:
    def __init__(self, rows, tokenizer, max_length=128, stride=32):
        self.calls = 0
        self.args = (rows, tokenizer, max_length, stride)

    def __call__(self):
        self.calls += 1
        return tokenize_questions(*self.args)


def cached(folder, rows, tokenizer, max_length=128, stride=32):
    counter = CountingTokenize(rows, tokenizer, max_length, stride)
    features = cached_features(folder, rows, tokenizer, max_length, stride, counter)
    return features, counter.calls


def test_a_second_call_reads_the_same_windows_from_disk(tmp_path, rows_and_tokenizer):
    rows, tokenizer = rows_and_tokenizer
    first, calls_first = cached(tmp_path, rows, tokenizer)
    second, calls_second = cached(tmp_path, rows, tokenizer)
    assert (calls_first, calls_second) == (1, 0)
    assert len(list(tmp_path.glob("*.pt"))) == 1
    for name in ("input_ids", "offsets", "example_index", "start_positions", "lengths"):
        assert torch.equal(getattr(first, name), getattr(second, name)), name
    assert second.num_examples == first.num_examples == len(rows)


def test_any_change_of_data_or_windows_misses(tmp_path, rows_and_tokenizer):
    rows, tokenizer = rows_and_tokenizer
    cached(tmp_path, rows, tokenizer)
    edited = [dict(rows[0], question=rows[0]["question"] + " really?"), *rows[1:]]
    assert cached(tmp_path, edited, tokenizer)[1] == 1  # one question changed
    assert cached(tmp_path, rows[:-1], tokenizer)[1] == 1  # a subsample
    assert cached(tmp_path, rows, tokenizer, stride=16)[1] == 1  # other windows
    assert cached(tmp_path, rows, tokenizer, max_length=96)[1] == 1
    assert len(list(tmp_path.glob("*.pt"))) == 5
    assert cached(tmp_path, edited, tokenizer)[1] == 0  # each is a hit afterwards


def test_a_damaged_file_is_recomputed_and_none_turns_the_cache_off(
    tmp_path, rows_and_tokenizer, caplog
):
    rows, tokenizer = rows_and_tokenizer
    cached(tmp_path, rows, tokenizer)
    (path,) = tmp_path.glob("*.pt")
    path.write_bytes(b"not a torch file")
    with caplog.at_level(logging.WARNING):
        features, calls = cached(tmp_path, rows, tokenizer)
    assert calls == 1 and features.num_examples == len(rows)
    assert "unreadable feature cache" in caplog.text
    assert cached(tmp_path, rows, tokenizer)[1] == 0  # rewritten whole
    off = tmp_path / "off"
    assert cached(None, rows, tokenizer)[1] == 1 and not off.exists()


def test_a_second_run_skips_tokenising_and_gives_the_same_results(tiny_data, tmp_path, monkeypatch):
    calls = []
    real = alqa.experiment.tokenize_questions

    def counting(*args, **kwargs):
        calls.append(kwargs.get("description"))
        return real(*args, **kwargs)

    monkeypatch.setattr(alqa.experiment, "tokenize_questions", counting)
    cache = f"features_cache={tmp_path / 'cache'}"
    first = run_tiny(tiny_data, tmp_path / "a", cache)
    assert calls == ["tokenize pool", "tokenize eval"]
    second = run_tiny(tiny_data, tmp_path / "b", cache)
    assert calls == ["tokenize pool", "tokenize eval"]  # nothing tokenised the second time
    for a, b in zip(first["rounds"], second["rounds"]):
        assert (a["selected_ids"], a["f1"]) == (b["selected_ids"], b["f1"])


def test_a_tokenizer_is_fingerprinted_once_and_another_one_again(rows_and_tokenizer, monkeypatch):
    rows, tokenizer = rows_and_tokenizer
    calls = []
    real = feature_cache.tokenizer_fingerprint

    def counting(tok):
        calls.append(tok)
        return real(tok)

    monkeypatch.setattr(feature_cache, "tokenizer_fingerprint", counting)
    monkeypatch.setattr(feature_cache, "_DIGESTS", weakref.WeakKeyDictionary())
    pool_key = feature_cache.cache_key(rows, tokenizer, 128, 32)
    eval_key = feature_cache.cache_key(rows[:3], tokenizer, 128, 32)  # the same run's eval set
    assert len(calls) == 1 and pool_key != eval_key
    other = load_tokenizer(OmegaConf.load(REPO_ROOT / "conf" / "model" / "tiny.yaml"))
    assert feature_cache.cache_key(rows, other, 128, 32) == pool_key  # same definition
    assert len(calls) == 2
