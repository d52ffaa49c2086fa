"""EM/F1 against values worked out by hand from the official SQuAD v1.1 and v2.0 scripts."""

from __future__ import annotations

import pytest

from alqa.metrics import (
    exact_match_score,
    f1_score,
    normalize_answer,
    question_scores,
    squad_scores,
)


def test_normalisation_follows_the_official_order():
    assert normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert normalize_answer("an apple, a pear") == "apple pear"
    assert normalize_answer("Theory") == "theory"  # "the" only as a whole word


@pytest.mark.parametrize(
    ("prediction", "gold", "em", "f1"),
    [
        ("the Eiffel Tower", "Eiffel Tower", 1.0, 1.0),
        ("in Paris, France", "Paris", 0.0, 0.5),  # P = 1/3, R = 1 -> F1 = 0.5
        ("Denver Broncos.", "Denver Broncos", 1.0, 1.0),
        ("Carolina Panthers", "Denver Broncos", 0.0, 0.0),
        ("1 2 2 3", "2 2 4", 0.0, 4 / 7),  # common {2: 2}; P = 2/4, R = 2/3
        # both normalise to "": the official v1.1 script gives EM 1 but F1 0
        ("the", "a", 1.0, 0.0),
        ("", "", 1.0, 0.0),
    ],
)
def test_single_pair(prediction, gold, em, f1):
    assert exact_match_score(prediction, gold) == em
    assert f1_score(prediction, gold) == pytest.approx(f1)


def test_max_over_gold_answers_and_average_on_a_0_to_100_scale():
    references = {
        "q1": ["Denver Broncos", "the Broncos"],
        "q2": ["Santa Clara, California", "Levi's Stadium"],
        "q3": ["February 7, 2016"],
    }
    predictions = {"q1": "Broncos", "q2": "Levi's Stadium in Santa Clara", "q3": "2016"}
    # q1: vs "the Broncos" -> EM 1. q2: vs "Santa Clara, California": P 2/5, R 2/3 -> 0.5;
    # vs "Levi's Stadium": P 2/5, R 1 -> 4/7 (max). q3: P 1, R 1/3 -> 0.5.
    scores = squad_scores(predictions, references)
    assert scores["em"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(100 * (1 + 4 / 7 + 0.5) / 3)


def test_missing_prediction_scores_zero():
    assert squad_scores({}, {"q": ["x"]}) == {"em": 0.0, "f1": 0.0}
    with pytest.raises(ValueError, match="no reference"):
        squad_scores({"q": "x"}, {})


def test_squad_v2_scores_unanswerable_questions_and_reports_both_halves():
    references = {
        "a1": ["Denver Broncos"],
        "a2": ["Santa Clara"],
        "n1": [],  # unanswerable
        "n2": [],
        "n3": [],
    }
    predictions = {
        "a1": "Broncos",  # EM 0, F1: P 1, R 1/2 -> 2/3
        "a2": "",  # abstained on an answerable question: EM 0, F1 0
        "n1": "",  # right abstention: EM 1, F1 1
        "n2": "Denver",  # answered an unanswerable one: 0, 0
        # n3 missing: 0, 0
    }
    scores = question_scores(predictions, references)
    assert scores.version == "v2.0"
    assert scores.has_answer.tolist() == [True, True, False, False, False]
    assert scores.exact_match.tolist() == [0, 0, 1, 0, 0]
    assert scores.f1 == pytest.approx([2 / 3, 0, 1, 0, 0])
    summary = scores.summary()
    assert summary["em"] == pytest.approx(20.0)
    assert summary["f1"] == pytest.approx(100 * (2 / 3 + 1) / 5)
    assert summary["em_has_answer"] == 0.0
    assert summary["f1_has_answer"] == pytest.approx(100 * (2 / 3) / 2)
    assert summary["em_no_answer"] == pytest.approx(100 / 3)
    assert summary["f1_no_answer"] == pytest.approx(100 / 3)


def test_v2_ignores_gold_answers_that_normalise_to_nothing_and_v1_keeps_its_corner_case():
    # v2.0: gold "the" normalises to "" and is dropped; "Paris" remains
    v2 = question_scores({"q": "Paris", "n": ""}, {"q": ["the", "Paris"], "n": []})
    assert v2.exact_match.tolist() == [1, 1]
    # v1.1 (no unanswerable question): both sides normalise to "": EM 1, F1 0
    v1 = question_scores({"q": "a"}, {"q": ["the"]})
    assert v1.version == "v1.1" and v1.exact_match.tolist() == [1] and v1.f1.tolist() == [0]
    assert set(v1.summary()) == {"em", "f1"}
