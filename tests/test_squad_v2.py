"""SQuAD 2.0 end to end: unanswerable questions are kept, trained on [CLS], offered to the
strategies as a "no answer" candidate, and scored with the v2.0 definitions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import make_squad, run_tiny

from alqa.data import read_qa_file


def make_squad_v2(num_paragraphs: int, seed: int) -> dict:
    """make_squad's data plus one unanswerable question per paragraph (is_impossible)."""
    document = make_squad(num_paragraphs, seed)
    for p, article in enumerate(document["data"]):
        paragraph = article["paragraphs"][0]
        paragraph["qas"].append(
            {
                "id": f"p{p}_none",
                "question": "Who painted the moon?",
                "answers": [],
                "is_impossible": True,
            }
        )
    return document


@pytest.fixture(scope="module")
def v2_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("v2")
    train, dev = folder / "train.json", folder / "dev.json"
    train.write_text(json.dumps(make_squad_v2(15, seed=3)))
    dev.write_text(json.dumps(make_squad_v2(5, seed=4)))
    return {"train": train, "eval": dev}


def test_unanswerable_questions_are_kept_and_label_cls_in_every_window(v2_data):
    from conftest import REPO_ROOT
    from omegaconf import OmegaConf

    from alqa.features import tokenize_questions
    from alqa.modeling import load_tokenizer

    rows = read_qa_file(v2_data["train"])
    unanswerable = [i for i, r in enumerate(rows) if not r["answers"]["text"]]
    assert len(rows) == 60 and len(unanswerable) == 15
    tokenizer = load_tokenizer(OmegaConf.load(REPO_ROOT / "conf" / "model" / "tiny.yaml"))
    features = tokenize_questions(rows, tokenizer, 128, 32)
    windows = features.features_of(unanswerable)
    assert len(windows) >= 15
    assert (features.start_positions[windows] == 0).all()
    assert (features.end_positions[windows] == 0).all()


@pytest.mark.parametrize("strategy", ["entropy", "bald"])
def test_a_v2_run_reports_has_and_no_answer_scores(v2_data, tmp_path, strategy):
    extra = ["strategy.mc_passes=2"] if strategy == "bald" else []
    results = run_tiny(v2_data, tmp_path, f"strategy={strategy}", *extra)
    for r in results["rounds"]:
        for key in ("em_has_answer", "f1_has_answer", "em_no_answer", "f1_no_answer"):
            assert 0 <= r[key] <= 100, key
        # 15 eval questions: 10 answerable, 5 not; overall EM is their weighted mean
        expected = (10 * r["em_has_answer"] + 5 * r["em_no_answer"]) / 15
        assert r["em"] == pytest.approx(expected)
    picked = [q for r in results["rounds"] for q in r["selected_ids"]]
    assert len(picked) == len(set(picked)) == 20


def test_the_null_option_is_a_candidate_of_every_pool_question(v2_data):
    from conftest import compose, tiny_overrides

    from alqa.experiment import build_experiment
    from alqa.query import round_scorer

    experiment = build_experiment(compose(tiny_overrides(v2_data)))
    assert experiment.with_null
    scorer = round_scorer(experiment, np.arange(len(experiment.pool)))
    spans = scorer.spans()
    assert (spans.is_null.sum(dim=1) == 1).all()  # exactly one "no answer" per question
    assert torch.allclose(spans.probs.sum(dim=1), torch.ones(len(experiment.pool)))
