"""EM/F1 against values worked out by hand from the official SQuAD v1.1 script."""

from __future__ import annotations

import pytest

from alqa.metrics import exact_match_score, f1_score, normalize_answer, squad_scores


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


def test_missing_prediction_scores_zero_and_empty_gold_is_rejected():
    assert squad_scores({}, {"q": ["x"]}) == {"em": 0.0, "f1": 0.0}
    with pytest.raises(ValueError, match="no gold answer"):
        squad_scores({"q": "x"}, {"q": []})
