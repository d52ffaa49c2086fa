"""Windows and training labels of ``tokenize_questions``, re-read through the offsets.

Every run trains on these start/end labels, so they are checked the way a reviewer would:
slice the context with the labeled tokens' character offsets and compare with the gold text.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import REPO_ROOT
from omegaconf import OmegaConf

from alqa.features import answer_token_span, tokenize_questions
from alqa.modeling import load_tokenizer

MAX_LENGTH, STRIDE = 40, 12


@pytest.fixture(scope="module")
def tokenizer():
    """The embedded MiniLM's uncased WordPiece tokenizer (no network)."""
    return load_tokenizer(OmegaConf.load(REPO_ROOT / "conf" / "model" / "minilm.yaml"))


CONTEXT = (
    "Ingrid moved from Zürich to São Paulo in 1994, where she founded a small bakery. "
    "The bakery sold rye bread, cardamom buns and unbelievably sweet pastries to dockworkers. "
    "In 2003 the harbor authority bought the building, and Ingrid opened a second shop near "
    "the old lighthouse, which still stands on the northern pier of the harbor today."
)


def word_answers(context: str) -> list[dict]:
    """One question per word of the context (and per pair of words), answered by it: answers
    at every position, so some sit exactly on a window's first or last context token."""
    words = [(m.start(), m.group()) for m in __import__("re").finditer(r"[\w']+", context)]
    rows = []
    for i, (start, word) in enumerate(words):
        rows.append((start, word))
        if i + 1 < len(words):
            end = words[i + 1][0] + len(words[i + 1][1])
            rows.append((start, context[start:end]))
    return [
        {
            "id": f"q{i}",
            "title": "t",
            "context": context,
            "question": "What is here?",
            "answers": {"text": [text], "answer_start": [start]},
        }
        for i, (start, text) in enumerate(rows)
    ]


def labeled_text(features, window: int, context: str) -> str:
    start, end = int(features.start_positions[window]), int(features.end_positions[window])
    return context[int(features.offsets[window, start, 0]) : int(features.offsets[window, end, 1])]


def window_span(features, window: int) -> tuple[int, int]:
    """Character range of the window's context tokens."""
    offsets = features.offsets[window]
    inside = offsets[:, 0] >= 0
    return int(offsets[inside, 0].min()), int(offsets[inside, 1].max())


def test_labels_reread_through_offsets_are_the_gold_text_in_every_window(tokenizer):
    rows = word_answers(CONTEXT)
    features = tokenize_questions(rows, tokenizer, MAX_LENGTH, STRIDE)
    assert features.num_features >= 3 * len(rows)  # every question has several windows
    at_edge = 0
    for window in range(features.num_features):
        row = rows[int(features.example_index[window])]
        gold_start = row["answers"]["answer_start"][0]
        gold_end = gold_start + len(row["answers"]["text"][0])
        first, last = window_span(features, window)
        if first <= gold_start and gold_end <= last:
            assert labeled_text(features, window, CONTEXT) == row["answers"]["text"][0]
            at_edge += gold_start == first or gold_end == last
        else:  # not wholly in this window: the [CLS] target
            assert (features.start_positions[window], features.end_positions[window]) == (0, 0)
    assert at_edge > 5  # answers on the first or last context token of a window were checked
    for question in range(len(rows)):  # each answer is wholly inside at least one window
        windows = features.features_of([question])
        assert (features.start_positions[torch.as_tensor(windows)] > 0).any()


def test_an_answer_ending_inside_a_token_takes_the_smallest_covering_span(tokenizer):
    context = "She sold unbelievably sweet pastries in Lisbon."
    cases = [("unbeliev", context.index("unbeliev")), ("Lisbo", context.index("Lisbon"))]
    rows = [
        {
            "id": str(i),
            "title": "",
            "context": context,
            "question": "what?",
            "answers": {"text": [text], "answer_start": [start]},
        }
        for i, (text, start) in enumerate(cases)
    ]
    features = tokenize_questions(rows, tokenizer, 64, 16)
    for window, (text, start) in enumerate(cases):
        covered = labeled_text(features, window, context)
        assert text in covered and covered != text  # the whole last token is taken
        s, e = int(features.start_positions[window]), int(features.end_positions[window])
        # minimal: without its last token, the span no longer covers the answer
        assert e == s or int(features.offsets[window, e - 1, 1]) < start + len(text)


def test_answer_token_span_on_hand_built_offsets():
    # tokens: [CLS] q [SEP] "ab" "cd" "ef" [SEP]; context chars 0-2, 2-4, 4-6
    offsets = np.array([[0, 0], [0, 1], [0, 0], [0, 2], [2, 4], [4, 6], [0, 0]])
    is_context = np.array([False, False, False, True, True, True, False])
    assert answer_token_span(offsets, is_context, 2, 4) == (4, 4)
    assert answer_token_span(offsets, is_context, 0, 6) == (3, 5)
    assert answer_token_span(offsets, is_context, 1, 3) == (3, 4)  # inside tokens: covering
    assert answer_token_span(offsets, is_context, 4, 7) == (0, 0)  # runs past the window
    assert answer_token_span(offsets, is_context, 2, 4) != (0, 0)


def test_answer_token_span_skips_characters_no_token_covers():
    # tokens: [CLS] q [SEP] "ab" "cd" "ef" [SEP]; context "ab cd ef": chars 0-2, 3-5, 6-8
    offsets = np.array([[0, 0], [0, 1], [0, 0], [0, 2], [3, 5], [6, 8], [0, 0]])
    is_context = np.array([False, False, False, True, True, True, False])
    assert answer_token_span(offsets, is_context, 2, 5) == (4, 4)  # " cd": not "ab cd"
    assert answer_token_span(offsets, is_context, 3, 6) == (4, 4)  # "cd ": not "cd ef"
    assert answer_token_span(offsets, is_context, 2, 6) == (4, 4)
    assert answer_token_span(offsets, is_context, 2, 3) == (0, 0)  # only a space: no span


def one_question(context: str, text: str, start: int) -> dict:
    answers = {"text": [text], "answer_start": [start]}
    return {"id": "q", "title": "", "context": context, "question": "what?", "answers": answers}


def test_an_answer_with_spaces_around_it_labels_its_words_only(tokenizer):
    context = "The capital city Paris is big. The river Seine flows."
    cases = [(" Paris", context.index(" Paris")), ("Seine ", context.index("Seine"))]
    for text, start in cases:
        features = tokenize_questions([one_question(context, text, start)], tokenizer, 64, 16)
        assert labeled_text(features, 0, context) == text.strip()


@pytest.mark.parametrize(
    ("context", "answer"),
    [
        ("Cafe\u0301 Nare\u0301 serves tea", "Cafe\u0301 Nare\u0301"),  # decomposed accents
        ("Ingrid met Jose\u0301 in Zu\u0308rich today", "Zu\u0308rich"),
        ("They met at the cafe\u0301", "the cafe\u0301"),  # at the context's end
        ("\u0301cafe\u0301 is good", "\u0301cafe\u0301"),  # a stray mark first: skipped
        ("\u200bcafe\u0301 is good", "\u200bcafe\u0301"),  # a zero-width space first
    ],
)
def test_an_answer_ending_in_a_combining_accent_keeps_it(tokenizer, context, answer):
    features = tokenize_questions(
        [one_question(context, answer, context.index(answer))], tokenizer, 64, 16
    )
    # the accent the tokenizer dropped too (a stray leading mark no token can start at: not)
    assert labeled_text(features, 0, context) == answer.lstrip("\u0301\u200b")
    inside = features.offsets[0, :, 0] >= 0
    starts, ends = features.offsets[0, inside, 0], features.offsets[0, inside, 1]
    assert bool((ends[:-1] <= starts[1:]).all())  # tokens still never overlap


@pytest.mark.parametrize(
    "answer", ["Paris\u200b", "Paris\u200f", "Paris\x07"], ids=["zwsp", "rlm", "bell"]
)
def test_an_answer_ending_in_a_character_no_token_covers_at_the_context_end_is_labeled(
    tokenizer, answer
):
    context = "They went to " + answer  # the answer closes the context (common with RTL marks)
    features = tokenize_questions(
        [one_question(context, answer, context.index(answer))], tokenizer, 64, 16
    )
    assert labeled_text(features, 0, context) == "Paris"


def test_offsets_mark_only_context_tokens_and_windows_belong_to_their_question(tokenizer):
    rows = word_answers(CONTEXT)[:6]
    features = tokenize_questions(rows, tokenizer, MAX_LENGTH, STRIDE)
    for window in range(features.num_features):
        ids = features.input_ids[window]
        length = int(features.lengths[window])
        assert int(features.attention_mask[window].sum()) == length
        context_tokens = (features.offsets[window, :, 0] >= 0).nonzero().flatten()
        assert ids[0] == tokenizer.cls_token_id
        # context tokens come after the question and its [SEP], and stop before the last [SEP]
        assert int(context_tokens.min()) > 2 and int(context_tokens.max()) == length - 2
        assert (features.token_type_ids[window, context_tokens] == 1).all()
    assert features.example_index.tolist() == sorted(features.example_index.tolist())
    assert set(features.features_of([2, 4]).tolist()) == {
        w for w in range(features.num_features) if int(features.example_index[w]) in (2, 4)
    }


def test_an_unanswerable_question_labels_cls_everywhere_and_bad_settings_are_refused(tokenizer):
    row = {
        "id": "u",
        "title": "",
        "context": CONTEXT,
        "question": "Who?",
        "answers": {"text": [], "answer_start": []},
    }
    features = tokenize_questions([row], tokenizer, MAX_LENGTH, STRIDE)
    assert features.num_features > 1
    assert not features.start_positions.any() and not features.end_positions.any()
    with pytest.raises(ValueError, match="model.stride"):
        tokenize_questions([row], tokenizer, 32, 32)


def test_an_over_long_question_keeps_its_first_tokens_and_the_windows_still_cover_the_answer(
    tokenizer, caplog
):
    # 128-token windows with stride 32 leave a question (128 - 3 - 32) // 2 = 46 tokens; this
    # one has over 300, which made the tokenizer panic
    long_question = "Which " + "very " * 300 + "old landmark still stands on the pier?"
    rows = word_answers(CONTEXT)[:1] + [
        {
            "id": "long",
            "title": "t",
            "context": CONTEXT,
            "question": long_question,
            "answers": {"text": ["lighthouse"], "answer_start": [CONTEXT.index("lighthouse")]},
        }
    ]
    with caplog.at_level("WARNING", logger="alqa.features"):
        features = tokenize_questions(rows, tokenizer, 128, 32, description="tokenize pool")
    (warning,) = caplog.records
    assert "tokenize pool: 1 of 2 questions are longer than 46 tokens" in warning.getMessage()
    assert "(first: long)" in warning.getMessage()
    windows = np.flatnonzero(features.example_index.numpy() == 1)
    question_tokens = (features.token_type_ids[windows] == 0) & (
        features.attention_mask[windows] == 1
    )
    assert int(question_tokens.sum(dim=1).max()) == 46 + 2  # [CLS] and the first [SEP]
    assert len(windows) <= 3  # each window moves on by at least 46 context tokens
    labeled = [w for w in windows if features.start_positions[w] > 0]
    assert labeled and all(labeled_text(features, w, CONTEXT) == "lighthouse" for w in labeled)
    # the short question is untouched: "what is here?" is 4 tokens, with [CLS] and [SEP]
    short = features.example_index == 0
    short_question = (features.token_type_ids[short] == 0) & (features.attention_mask[short] == 1)
    assert short_question.sum(dim=1).tolist() == [6] * int(short.sum())


def test_a_stride_that_leaves_no_room_for_a_question_is_refused(tokenizer):
    from alqa.settings import ConfigError

    with pytest.raises(ConfigError, match=r"model.stride \(36\) leaves no room"):
        tokenize_questions(word_answers(CONTEXT)[:1], tokenizer, 40, 36)
