"""Loading SQuAD JSON / JSONL, validating answers, reproducible subsampling."""

from __future__ import annotations

import gzip
import json
import logging

import pytest
from conftest import make_squad

from alqa.data import DatasetError, load_split, read_qa_file, subsample, validate_rows


def test_squad_json_gz_and_jsonl_read_the_same_rows(tmp_path):
    document = make_squad(4, seed=3)
    gz = tmp_path / "d.json.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as handle:
        json.dump(document, handle)
    rows = read_qa_file(gz)
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert read_qa_file(jsonl) == rows
    assert len(rows) == 12 and rows[0]["id"] == "p0_q0"


def test_misplaced_answers_are_reported_and_dropped(tmp_path, caplog):
    document = make_squad(3, seed=4)
    document["data"][1]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] += 1
    path = tmp_path / "bad_offsets.json"
    path.write_text(json.dumps(document))
    with caplog.at_level(logging.WARNING):
        rows = load_split(str(path), None, "train", "dataset.train_file")
    assert "p1_q0" not in {r["id"] for r in rows}
    assert len(rows) == 8
    assert "dropped 1 question" in caplog.text and "p1_q0" in caplog.text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"version": "1.1", "rows": []}', "SQuAD JSON layout"),
        ('{"data": [{"title": "t", "paragraphs": [{"qas": []}]}]}', "article 0 is malformed"),
        ('{"id": "a", "question": "q"}\nnot json\n', "line 1"),
        ("", "empty"),
    ],
)
def test_malformed_files_name_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message) as error:
        read_qa_file(path)
    assert "broken.json" in str(error.value)


def test_missing_file_names_the_config_key(tmp_path):
    with pytest.raises(DatasetError, match=r"dataset.eval_file=.*not found"):
        load_split(str(tmp_path / "nope.json"), None, "validation", "dataset.eval_file")


def test_offline_without_files_says_how_to_pass_them(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DatasetError, match=r"dataset.train_file=.*dataset.eval_file="):
        load_split(None, "rajpurkar/squad", "train", "dataset.train_file")


def test_duplicate_ids_are_rejected():
    rows = [
        {
            "id": "x",
            "context": "abc",
            "question": "q",
            "answers": {"text": ["a"], "answer_start": [0]},
        }
    ] * 2
    with pytest.raises(DatasetError, match="appears twice"):
        validate_rows(rows, "src")


def test_subsample_is_reproducible_and_seed_dependent():
    rows = [{"id": str(i)} for i in range(100)]
    a, b, c = subsample(rows, 10, 0, 0), subsample(rows, 10, 0, 0), subsample(rows, 10, 1, 0)
    assert a == b and a != c and len(a) == 10
    assert [r["id"] for r in a] == sorted((r["id"] for r in a), key=int)  # file order kept
    assert subsample(rows, None, 0, 0) == rows
