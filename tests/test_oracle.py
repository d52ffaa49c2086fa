"""Oracles: the gold simulation, and an annotation team in Label Studio through files.

The team's side is played by the test: it reads the tasks alqa writes and writes the export
Label Studio would, from gold answers it keeps hidden from alqa (the pool alqa reads has none).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import compose, make_squad, run_tiny, tiny_overrides

from alqa.app import EXIT_WAITING, run_from_config
from alqa.data import DatasetError
from alqa.oracle import OracleError, Question
from alqa.oracle.annotations import read_labels
from alqa.oracle.label_studio import FileRoute, labeling_config
from alqa.state import RunState

COMPARED = ("round", "n_labeled", "selected_ids", "train_loss", "em", "f1")


@pytest.fixture(scope="module")
def team_data(tmp_path_factory) -> dict:
    """The tiny pool without answers (SQuAD layout with empty answers, and JSONL with id,
    context and question only), the evaluation set, and the hidden gold answers."""
    folder = tmp_path_factory.mktemp("team")
    document = make_squad(20, seed=1, long_context=True)
    gold, lines = {}, []
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                gold[qa["id"]] = qa["answers"][0]
                qa["answers"] = []
                record = {"id": qa["id"], "context": paragraph["context"]}
                lines.append(json.dumps({**record, "question": qa["question"]}))
    pool, jsonl, dev = folder / "pool.json", folder / "pool.jsonl", folder / "dev.json"
    pool.write_text(json.dumps(document))
    jsonl.write_text("\n".join(lines) + "\n")
    dev.write_text(json.dumps(make_squad(5, seed=2)))
    return {"train": pool, "jsonl": jsonl, "eval": dev, "gold": gold}


def span_result(start: int, end: int, text: str | None = None) -> list[dict]:
    value = {"start": start, "end": end, "labels": ["Answer"]}
    if text is not None:
        value["text"] = text
    return [{"from_name": "answer", "to_name": "context", "type": "labels", "value": value}]


def annotate(run_dir: Path, round_number: int, gold: dict, cancel=(), broken=()) -> list[str]:
    """Write round ``round_number``'s export as annotators would: the gold span of every task
    (without ``text``, as some exports do), a cancelled annotation for ``cancel``, a span past
    the end of the context for ``broken``; returns the round's question ids."""
    folder = run_dir / "label_studio"
    tasks = json.loads((folder / f"round_{round_number}_tasks.json").read_text())
    exported = []
    for number, task in enumerate(tasks):
        question_id = task["data"]["question_id"]
        answer = gold[question_id]
        start, end = answer["answer_start"], answer["answer_start"] + len(answer["text"])
        if question_id in broken:
            start, end = 1, len(task["data"]["context"]) + 5
        annotation = {"id": number + 1, "result": span_result(start, end), "was_cancelled": False}
        if question_id in cancel:
            annotation = {"id": number + 1, "result": [], "was_cancelled": True}
        exported.append(
            {"id": 1000 * round_number + number, "data": task["data"], "annotations": [annotation]}
        )
    (folder / f"round_{round_number}_export.json").write_text(json.dumps(exported))
    return [t["data"]["question_id"] for t in tasks]


def test_the_file_route_labels_each_round_and_trains_exactly_like_the_gold_simulation(
    team_data, tiny_data, tmp_path
):
    """No skips: the team's answers are the gold ones, so the run must equal the simulation
    (same picks, same training loss, same scores) — the labels reach the model's targets."""
    simulated = run_tiny(tiny_data, tmp_path / "gold", "strategy=random")
    run_dir = tmp_path / "team"
    data = {"train": team_data["train"], "eval": team_data["eval"]}

    first = run_tiny(data, run_dir, "strategy=random", "oracle=label_studio")
    assert first["rounds"] == [] and first["finished"] is False
    assert first["waiting"]["round"] == 0
    assert "round_0_tasks.json" in first["waiting"]["message"]
    assert "round_0_export.json" in first["waiting"]["message"]
    tasks = json.loads((run_dir / "label_studio" / "round_0_tasks.json").read_text())
    assert len(tasks) == 10
    for task in tasks:
        data_keys = {"question_id", "question", "context", "alqa_round", "alqa_run"}
        assert set(task["data"]) == data_keys and task["data"]["alqa_round"] == 0
        (prediction,) = task["predictions"]
        assert 0.0 < prediction["score"] <= 1.0
        (region,) = prediction["result"]
        value = region["value"]
        assert (region["from_name"], region["to_name"]) == ("answer", "context")
        assert task["data"]["context"][value["start"] : value["end"]] == value["text"]
    assert 'name="answer"' in (run_dir / "label_studio" / "labeling_config.xml").read_text()
    assert run_tiny(data, run_dir, "strategy=random", "oracle=label_studio")["waiting"]

    results = first
    for _ in range(3):
        annotate(run_dir, results["waiting"]["round"], team_data["gold"])
        results = run_tiny(data, run_dir, "strategy=random", "oracle=label_studio")
        if results["finished"]:
            break
    assert results["finished"] and "waiting" not in results
    assert [r["n_labeled"] for r in results["rounds"]] == [10, 15, 20]
    team = [{k: r[k] for k in COMPARED} for r in results["rounds"]]
    assert team == [{k: r[k] for k in COMPARED} for r in simulated["rounds"]]
    state = json.loads((run_dir / "al_state.json").read_text())
    labeled = state["labeled_ids"]
    assert len(state["answers"]) == 20 and set(state["answers"]) == set(labeled)
    for question_id in labeled:
        gold = team_data["gold"][question_id]
        assert state["answers"][question_id] == {
            "text": [gold["text"]],
            "answer_start": [gold["answer_start"]],
        }


def label_until_finished(run_dir: Path, data: dict, gold: dict, *extra: str) -> dict:
    """Run, annotate the round the run waits for, run again... until it finishes."""
    results = run_tiny(data, run_dir, "strategy=random", "oracle=label_studio", *extra)
    while not results["finished"]:
        annotate(run_dir, results["waiting"]["round"], gold)
        results = run_tiny(data, run_dir, "strategy=random", "oracle=label_studio", *extra)
    return results


def test_a_teams_finished_run_grows_with_its_quota_keeping_every_label(
    team_data, tiny_data, tmp_path
):
    """The team's run ends at its quota, then gets a larger one: the labels given so far are
    kept (round 2's are not asked for again) and only the new rounds wait for annotators."""
    simulated = run_tiny(tiny_data, tmp_path / "gold", "strategy=random", "budget.quota=20")
    run_dir = tmp_path / "team"
    data = {"train": team_data["train"], "eval": team_data["eval"]}
    first = label_until_finished(run_dir, data, team_data["gold"])
    assert [r["n_labeled"] for r in first["rounds"]] == [10, 15, 20]

    grown = run_tiny(data, run_dir, "strategy=random", "oracle=label_studio", "budget.quota=20")
    assert grown["waiting"]["round"] == 3 and not grown["finished"]
    folder = run_dir / "label_studio"
    assert not (folder / "round_4_tasks.json").exists()
    round_3 = json.loads((folder / "round_3_tasks.json").read_text())
    asked = {t["data"]["question_id"] for t in round_3}
    assert asked.isdisjoint(set().union(*(r["selected_ids"] for r in first["rounds"])))

    grown = label_until_finished(run_dir, data, team_data["gold"], "budget.quota=20")
    team = [{k: r[k] for k in COMPARED} for r in grown["rounds"]]
    assert team == [{k: r[k] for k in COMPARED} for r in simulated["rounds"]]


def test_a_cancelled_task_is_not_labeled_and_never_asked_again(team_data, tmp_path, caplog):
    """A JSONL pool without answers and no evaluation set: rounds report no EM/F1 and go on;
    a skipped question is excluded from the labeled set and from every later query."""
    run_dir = tmp_path / "run"
    data = {"train": team_data["jsonl"], "eval": None}
    extra = ("oracle=label_studio", "strategy=margin", "dataset.eval_file=null", "budget.quota=5")
    with caplog.at_level("INFO", logger="alqa.data"):
        first = run_tiny(data, run_dir, *extra)
    assert "kept 60 questions (0 unanswerable)" in caplog.text  # unknown is not unanswerable
    assert first["waiting"]["round"] == 0
    round_0 = json.loads((run_dir / "label_studio" / "round_0_tasks.json").read_text())
    skipped = round_0[3]["data"]["question_id"]
    annotate(run_dir, 0, team_data["gold"], cancel={skipped})

    second = run_tiny(data, run_dir, *extra)
    (round_record,) = second["rounds"]
    assert round_record["n_labeled"] == 9 and round_record["skipped_ids"] == [skipped]
    assert "em" not in round_record and "f1" not in round_record
    assert second["aubc_f1"] is None and second["waiting"]["round"] == 1
    asked = annotate(run_dir, 1, team_data["gold"])
    assert len(asked) == 5 and skipped not in asked
    assert not set(asked) & {t["data"]["question_id"] for t in round_0}

    final = run_tiny(data, run_dir, *extra)
    assert final["finished"] and [r["n_labeled"] for r in final["rounds"]] == [9, 14]
    assert final["skipped_ids"] == [skipped]
    state = json.loads((run_dir / "al_state.json").read_text())
    assert skipped not in state["labeled_ids"] and len(state["labeled_ids"]) == 14


def test_a_span_outside_its_context_stops_the_run_naming_the_task_and_loses_nothing(
    team_data, tmp_path, capsys
):
    """Exit status 3 while waiting, 2 with a one-line message for a bad span (no traceback,
    the saved state untouched), and the run goes on once the annotation is fixed."""
    run_dir = tmp_path / "run"
    data = {"train": team_data["train"], "eval": team_data["eval"]}
    cfg = compose(tiny_overrides(data, "oracle=label_studio", "budget.quota=5"))

    with pytest.raises(SystemExit) as stopped:
        run_from_config(cfg, run_dir)
    assert stopped.value.code == EXIT_WAITING == 3
    assert "waits for labels" in capsys.readouterr().out
    round_0 = json.loads((run_dir / "label_studio" / "round_0_tasks.json").read_text())
    bad = round_0[2]["data"]["question_id"]
    annotate(run_dir, 0, team_data["gold"], broken={bad})
    saved = (run_dir / "al_state.json").read_bytes()

    with pytest.raises(SystemExit) as stopped:
        run_from_config(cfg, run_dir)
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "Traceback" not in error
    assert f"task 2 (question {bad})" in error  # the export's task id, and alqa's question id
    assert "does not fit its context" in error and "round_0_export.json" in error
    assert (run_dir / "al_state.json").read_bytes() == saved

    annotate(run_dir, 0, team_data["gold"])
    with pytest.raises(SystemExit) as stopped:
        run_from_config(cfg, run_dir)
    assert stopped.value.code == EXIT_WAITING
    results = json.loads((run_dir / "results.json").read_text())
    assert [r["n_labeled"] for r in results["rounds"]] == [10]
    assert results["waiting"]["round"] == 1


def test_the_gold_oracle_refuses_a_pool_without_answers(team_data, tmp_path):
    with pytest.raises(DatasetError, match="have no answers.*oracle=label_studio"):
        run_tiny({"train": team_data["jsonl"], "eval": team_data["eval"]}, tmp_path)


# --- reading annotations: the rules the README documents, one by one ----------------------

CONTEXT = "Alice was born in Lisbon in 1990."
QUESTION = Question("q1", "Where was Alice born?", CONTEXT)


def export(*annotations, question_id="q1", run="tag") -> list[dict]:
    data = {"question_id": question_id, "context": CONTEXT, "alqa_run": run}
    return [{"id": 7, "data": data, "annotations": list(annotations)}]


def read(tasks, questions=(QUESTION,)):
    return read_labels(tasks, list(questions), "tag", "export.json")


def test_a_span_is_sliced_from_its_context_and_trimmed():
    annotation = {"id": 1, "result": span_result(17, 25)}  # " Lisbon " with both spaces
    labels, missing = read(export(annotation))
    assert labels.answers == {"q1": {"text": ["Lisbon"], "answer_start": [18]}} and not missing


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        (span_result(18, 40), r"span \[18, 40\) does not fit its context \(33 characters\)"),
        (span_result(18, 24, "Porto"), "text 'Porto' is not at"),
        ([], "submitted without an answer span"),
        (
            span_result(18, 24)
            + [{"type": "choices", "from_name": "no_answer", "value": {"choices": ["No answer"]}}],
            "both an answer span and 'No answer'",
        ),
    ],
)
def test_an_unusable_annotation_is_refused_naming_its_task(result, problem):
    with pytest.raises(OracleError, match=problem) as error:
        read(export({"id": 1, "result": result}))
    assert "export.json: task 7 (question q1)" in str(error.value)


def test_the_newest_annotation_counts_and_all_cancelled_means_skipped():
    older = {"id": 1, "result": span_result(0, 5), "updated_at": "2026-01-01T10:00:00Z"}
    newer = {"id": 2, "result": span_result(18, 24), "updated_at": "2026-01-02T10:00:00Z"}
    cancelled = {"id": 3, "result": [], "was_cancelled": True, "updated_at": "2026-01-03"}
    labels, _ = read(export(newer, older, cancelled))
    assert labels.answers["q1"]["text"] == ["Lisbon"]

    labels, missing = read(export(cancelled))
    assert labels.skipped == ["q1"] and not labels.answers and not missing
    labels, missing = read(export())
    assert missing == ["q1"] and not labels.skipped
    labels, missing = read(export({"id": 1, "result": span_result(18, 24)}, run="other-run"))
    assert missing == ["q1"]  # a task of another alqa run in the same project


def test_no_answer_is_a_choice_only_where_the_data_has_unanswerable_questions(tmp_path):
    assert "No answer" not in labeling_config(False) and "No answer" in labeling_config(True)
    oracle = FileRoute(tmp_path)
    answerable = {
        "id": "e",
        "context": CONTEXT,
        "answers": {"text": ["Lisbon"], "answer_start": [18]},
    }
    unanswerable = {"id": "f", "context": CONTEXT, "answers": {"text": [], "answer_start": []}}
    pool = oracle.prepare([dict(answerable)], [answerable])
    assert not oracle.offers_no_answer and pool[0]["answers"]["text"] == []  # never used
    choice = [{"type": "choices", "from_name": "no_answer", "value": {"choices": ["No answer"]}}]
    with pytest.raises(OracleError, match="does not offer it") as refused:
        oracle.labels(export({"id": 1, "result": choice}), [QUESTION], {"run": "tag"}, "x", "")
    # the user left oracle.no_answer at auto: the message says so and how to offer it
    assert "oracle.no_answer=auto" in str(refused.value)
    assert "evaluation set has no unanswerable" in str(refused.value)
    assert "oracle.no_answer=true" in str(refused.value)
    oracle.prepare([dict(answerable)], [])
    with pytest.raises(OracleError, match="there is no evaluation set"):
        oracle.labels(export({"id": 1, "result": choice}), [QUESTION], {"run": "tag"}, "x", "")
    oracle.prepare([], [answerable, unanswerable])
    assert oracle.offers_no_answer
    labels, _ = oracle.labels(
        export({"id": 1, "result": choice}), [QUESTION], {"run": "tag"}, "x", ""
    )
    assert labels.answers == {"q1": {"text": [], "answer_start": []}}


def test_a_state_of_format_two_resumes_as_a_gold_run(tmp_path):
    document = {
        "format": 2,
        "config": {},
        "pending": {"selected_ids": ["a"]},
        "rng_state": {},
        "rounds": [],
        "labeled_ids": [],
        "finished": False,
    }
    state = RunState.from_json(document, tmp_path / "al_state.json")
    assert (state.answers, state.skipped_ids, state.oracle, state.waiting) == ({}, [], {}, None)
    assert state.pending.requested is False and state.pending.skipped_ids == []


@pytest.mark.parametrize(
    ("overrides", "kind"),
    [
        ([], "GoldOracle"),
        (["oracle=gold"], "GoldOracle"),
        (["oracle=label_studio"], "FileRoute"),
        (["oracle=label_studio", "oracle.url=http://localhost:8080"], "ApiRoute"),
    ],
)
def test_every_oracle_option_composes_and_builds_its_route(tmp_path, overrides, kind):
    from omegaconf import OmegaConf

    from alqa.oracle import build_oracle

    cfg = compose(overrides)
    resolved = OmegaConf.to_container(cfg, resolve=True)["oracle"]
    oracle = build_oracle(cfg.oracle, tmp_path)
    assert type(oracle).__name__ == kind and oracle.name == resolved["name"]
    if kind == "ApiRoute":
        assert resolved["api_key_env"] == "LABEL_STUDIO_API_KEY" and "api_key" not in resolved
        assert oracle.title == "alqa margin seed0"  # nothing is contacted before a round


def test_the_api_route_without_a_key_says_which_variable_to_set(tmp_path, monkeypatch):
    pytest.importorskip("label_studio_sdk")
    from alqa.oracle.label_studio import label_studio_oracle

    monkeypatch.delenv("TEAM_KEY", raising=False)
    oracle = label_studio_oracle(tmp_path, url="http://127.0.0.1:9", api_key_env="TEAM_KEY")
    with pytest.raises(OracleError, match="environment variable TEAM_KEY is empty"):
        oracle.collect(0, [QUESTION], {})


def test_a_bad_oracle_setting_is_one_line_naming_the_key(tmp_path):
    from alqa.oracle import build_oracle

    with pytest.raises(OracleError, match="oracle.no_answer must be auto, true or false"):
        build_oracle(compose(["oracle=label_studio", "oracle.no_answer=maybe"]).oracle, tmp_path)
