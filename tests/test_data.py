"""Loading SQuAD JSON / JSONL / saved `datasets`, validating answers, reproducible subsampling."""

from __future__ import annotations

import gzip
import json
import logging

import pytest
from conftest import REPO_ROOT, make_squad

from alqa.data import (
    DatasetError,
    DatasetSource,
    load_split,
    read_qa_file,
    read_qa_records,
    subsample,
    validate_rows,
)

TRAIN_KEY = "dataset.train_file"


def question(qid, context, question_text, *answers, **extra) -> dict:
    """A SQuAD-layout question whose answers are found in ``context`` (first occurrence)."""
    found = [{"text": a, "answer_start": context.index(a)} for a in answers]
    record = {"question": question_text, "answers": found, **extra}
    if qid is not None:
        record["id"] = qid
    return record


def squad_file(tmp_path, paragraphs: list[tuple[str, list[dict]]], title="T", name="d.json"):
    """One article of the given (context, questions) paragraphs, as a SQuAD JSON file."""
    article = {"paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs]}
    if title is not None:
        article["title"] = title
    path = tmp_path / name
    path.write_text(json.dumps({"version": "1.1", "data": [article]}, ensure_ascii=False))
    return path


def flat(qid, context, answer_text, question_text="q?") -> dict:
    """A JSONL/hub record with one answer found in ``context``."""
    start = context.index(answer_text)
    answers = {"text": [answer_text], "answer_start": [start]}
    return {"id": qid, "context": context, "question": question_text, "answers": answers}


def summary_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "kept " in r.getMessage()]


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


def test_misplaced_answers_are_dropped_and_the_summary_line_counts_everything(tmp_path, caplog):
    document = make_squad(3, seed=4)
    document["data"][1]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] += 1
    path = tmp_path / "bad_offsets.json"
    path.write_text(json.dumps(document))
    with caplog.at_level(logging.INFO, logger="alqa.data"):
        rows = load_split(str(path), None, "train", TRAIN_KEY)
    assert "p1_q0" not in {r["id"] for r in rows}
    assert len(rows) == 8
    (line,) = summary_lines(caplog)
    assert line.levelno == logging.WARNING
    assert line.getMessage() == (
        f"{TRAIN_KEY}={path}: kept 8 questions (0 unanswerable), dropped 1 as misplaced "
        "(answer text not at answer_start; first: p1_q0), renamed 0 repeated ids, "
        "generated 0 ids and 0 titles"
    )


def test_a_clean_file_logs_one_info_line(tiny_data, caplog):
    with caplog.at_level(logging.INFO, logger="alqa.data"):
        rows = load_split(str(tiny_data["eval"]), None, "validation", "dataset.eval_file")
    (line,) = summary_lines(caplog)
    assert line.levelno == logging.INFO
    assert f"kept {len(rows)} questions (0 unanswerable), dropped 0 as misplaced" in line.message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"version": "1.1", "rows": []}', "SQuAD JSON layout"),
        ('{"data": [{"title": "t", "paragraphs": [{"qas": []}]}]}', "article 0 is malformed"),
        (
            '{"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q", '
            '"answers": [{"text": "c", "answer_start": "zero"}]}]}]}]}',
            "article 0 is malformed",
        ),
        ('{"id": "a", "question": "q"}\nnot json\n', "line 1"),
        ('{"id": "a", "question": "q", "context": 3, "answers": []}\n', "line 1"),
        (
            '{"id": "a", "question": "q", "context": "cab", "answers": {"text": "ab", '
            '"answer_start": 1}}\n',
            "must be lists",
        ),
        (
            '{"id": "a", "question": "q", "context": "cab", "answers": {"text": ["ab", "c"], '
            '"answer_start": [1]}}\n',
            "2 texts but 1 answer_start",
        ),
        (
            '{"data": [{"paragraphs": [{"context": "c", "qas": [{"question": "q", '
            '"is_impossible": "maybe", "answers": []}]}]}]}',
            "is_impossible must be true or false, got 'maybe'",
        ),
        ("", "empty"),
    ],
)
def test_malformed_files_name_the_file_and_the_problem(tmp_path, content, message):
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message) as error:
        read_qa_file(path)
    assert "broken.json" in str(error.value)
    assert len(str(error.value).splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("Café".encode("latin-1"), r"not UTF-8 text \(byte 0xe9 at offset 3\)"),
        (gzip.compress(b'{"data": []}', mtime=0)[:15], "a damaged gzip file"),
        (b'{\n  "version": "1.1",\n  "data": [\n    {"title": "t",}\n  ]\n}\n', "line 4, column"),
        ('{"data": []}'.encode("utf-16"), "UTF-16 text.*iconv -f utf-16"),
        (b"\xfd7zXZ\x00\x00\x04", "xz-compressed.*xz -d"),
    ],
    ids=["latin-1", "damaged-gzip", "broken-pretty-json", "utf-16", "xz"],
)
def test_undecodable_files_are_refused_in_one_line(tmp_path, content, message):
    path = tmp_path / "broken.json.gz"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=message) as error:
        read_qa_file(path)
    assert "broken.json.gz" in str(error.value) and "JSONL" not in str(error.value)[:60]
    assert len(str(error.value).splitlines()) == 1


def test_gzip_is_told_by_content_and_a_json_list_of_records_reads_like_jsonl(tmp_path):
    document = make_squad(2, seed=5)
    misnamed = tmp_path / "squad.json"  # gzipped, without .gz
    misnamed.write_bytes(gzip.compress(json.dumps(document).encode()))
    plain = tmp_path / "plain.json.gz"  # plain text, with .gz
    plain.write_text(json.dumps(document))
    rows = read_qa_file(misnamed)
    assert read_qa_file(plain) == rows and len(rows) == 6
    listed = tmp_path / "records.json"  # pandas' to_json(orient="records")
    listed.write_text(json.dumps([{k: v for k, v in r.items() if k != "id"} for r in rows]))
    parsed = read_qa_records(listed)
    assert [r["question"] for r in parsed.rows] == [r["question"] for r in rows]
    assert parsed.rows[0]["id"] == "generated-item1" and parsed.generated_ids == 6
    listed.write_text(json.dumps([{"question": "q"}]))
    with pytest.raises(DatasetError, match="item 1: not a valid question record"):
        read_qa_file(listed)


def test_missing_file_names_the_config_key(tmp_path):
    with pytest.raises(DatasetError, match=r"dataset.eval_file=.*not found"):
        load_split(str(tmp_path / "nope.json"), None, "validation", "dataset.eval_file")
    with pytest.raises(DatasetError, match=r"dataset.eval_file=.*a folder, not a file"):
        load_split(str(tmp_path), None, "validation", "dataset.eval_file")


def test_offline_without_files_says_how_to_pass_them_with_placeholders(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DatasetError, match=r"dataset.train_file=.*dataset.eval_file=") as error:
        load_split(None, "rajpurkar/squad", "train", TRAIN_KEY)
    message = str(error.value)
    assert "dataset.train_file=<path to train-v1.1.json>" in message
    assert "dataset=squad_sample" in message
    assert "../" not in message and "/work" not in message


def test_repeated_ids_get_deterministic_new_ids_and_one_warning(caplog):
    row = {"context": "abc", "question": "q", "answers": {"text": ["a"], "answer_start": [0]}}
    ids = ["x", "x", "x#2", "y", "x", "y"]
    rows = [{**row, "id": i} for i in ids]
    rows[1] = rows[0]  # the same dict object twice must not be renamed in place
    with caplog.at_level(logging.INFO, logger="alqa.data"):
        kept = validate_rows(rows, "src")
    # x#2 is a real id, so the second x steps past it; real ids never change
    assert [r["id"] for r in kept] == ["x", "x#3", "x#2", "y", "x#4", "y#2"]
    assert rows[0]["id"] == "x" and rows[1]["id"] == "x"
    (line,) = summary_lines(caplog)
    assert line.levelno == logging.WARNING
    assert "renamed 3 repeated ids (x -> x#3, x -> x#4, y -> y#2)" in line.message
    assert [r["id"] for r in validate_rows(rows, "src")] == [r["id"] for r in kept]


def test_missing_ids_and_titles_are_generated_from_positions(tmp_path, caplog):
    context = "Ada Lovelace wrote the first program in 1843."
    path = squad_file(
        tmp_path,
        [
            (
                context,
                [
                    question(None, context, "Who?", "Ada Lovelace"),
                    question("generated-0-0-0", context, "When?", "1843"),  # the fallback's id
                    question("", context, "What?", "the first program"),
                ],
            )
        ],
        title=None,
    )
    with caplog.at_level(logging.INFO, logger="alqa.data"):
        rows = load_split(str(path), None, "train", TRAIN_KEY)
    assert [r["id"] for r in rows] == ["generated-0-0-0~2", "generated-0-0-0", "generated-0-0-2"]
    assert {r["title"] for r in rows} == {"article_0"}
    assert "generated 2 ids and 3 titles" in summary_lines(caplog)[0].message
    assert read_qa_file(path) == read_qa_file(path)  # the same file, the same ids


def test_jsonl_without_ids_or_titles_gets_line_ids_and_one_title_per_context(tmp_path):
    first, second = "Paris is in France.", "Rome is in Italy."
    records = [
        flat(None, first, "France"),
        flat("real", first, "Paris"),
        flat(None, second, "Rome"),
    ]
    del records[0]["id"], records[2]["id"]  # absent, not null
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n")
    parsed = read_qa_records(path)
    assert [r["id"] for r in parsed.rows] == ["generated-line1", "real", "generated-line3"]
    assert [r["title"] for r in parsed.rows] == ["context_0", "context_0", "context_1"]
    assert (parsed.generated_ids, parsed.generated_titles) == (2, 3)


def test_unanswerable_questions_are_kept_with_empty_answers(tmp_path, caplog):
    context = "The castle was built in 1200 by the river."
    path = squad_file(
        tmp_path,
        [
            (
                context,
                [
                    question("a", context, "When?", "1200"),
                    {"id": "b", "question": "Who?", "answers": [], "is_impossible": True},
                    question("c", context, "Where?", "the river", is_impossible=True),
                    {"id": "d", "question": "Why?", "is_impossible": True},
                    {"id": "e", "question": "How?", "answers": []},
                ],
            )
        ],
    )
    with caplog.at_level(logging.INFO, logger="alqa.data"):
        rows = load_split(str(path), None, "validation", "dataset.eval_file")
    assert [r["id"] for r in rows] == ["a", "b", "c", "d", "e"]
    empty = {"text": [], "answer_start": []}
    assert [r["answers"] for r in rows[1:]] == [empty] * 4  # is_impossible wins over answers
    assert rows[0]["answers"] == {"text": ["1200"], "answer_start": [24]}
    (line,) = summary_lines(caplog)
    assert "kept 5 questions (4 unanswerable)" in line.message
    assert line.levelno == logging.INFO


def test_non_ascii_text_keeps_its_character_offsets(tmp_path):
    context = "Zürich 🚀 Straße: 東京タワーは1958年に完成した。Ελληνικά — naïve café."
    answers = ["東京タワー", "1958年", "Ελληνικά", "café"]
    qas = [question(f"q{i}", context, f"¿Qué {i}?", a) for i, a in enumerate(answers)]
    plain = squad_file(tmp_path, [(context, qas)], title="Ünïcödé")  # UTF-8, not \u escapes
    path = tmp_path / "u.json.gz"
    path.write_bytes(gzip.compress(plain.read_bytes()))
    bom = tmp_path / "bom.jsonl"  # a byte-order mark, as some editors write
    bom.write_text("\ufeff" + json.dumps(flat("z", context, "Straße")), encoding="utf-8")
    rows = load_split(str(path), None, "train", TRAIN_KEY)
    assert [r["answers"]["text"][0] for r in rows] == answers
    for row in rows:
        (start,) = row["answers"]["answer_start"]
        assert context[start : start + len(row["answers"]["text"][0])] == row["answers"]["text"][0]
    assert rows[0]["title"] == "Ünïcödé" and rows[0]["question"] == "¿Qué 0?"
    assert load_split(str(bom), None, "train", TRAIN_KEY)[0]["answers"]["text"] == ["Straße"]


def test_several_answers_keep_their_order_and_a_misplaced_one_moves_behind_one_in_place(
    tmp_path, caplog
):
    context = "The Denver Broncos beat the Carolina Panthers in Super Bowl 50."
    good = question("g", context, "Who won?", "Denver Broncos", "The Denver Broncos", "Broncos")
    partly = question("p", context, "Who lost?", "Carolina Panthers", "Panthers")
    partly["answers"][0]["answer_start"] += 2  # the first (training) answer is misplaced
    lost = question("x", context, "Which game?", "Super Bowl 50")
    lost["answers"][0]["answer_start"] = 0  # no answer in place: the question goes
    path = squad_file(tmp_path, [(context, [good, partly, lost])])
    with caplog.at_level(logging.INFO, logger="alqa.data"):
        rows = load_split(str(path), None, "t", TRAIN_KEY)
    assert [r["id"] for r in rows] == ["g", "p"]
    assert rows[0]["answers"] == {
        "text": ["Denver Broncos", "The Denver Broncos", "Broncos"],
        "answer_start": [4, 0, 11],
    }
    # the answer in place is the training target; the misplaced text stays a reference
    assert rows[1]["answers"] == {
        "text": ["Panthers", "Carolina Panthers"],
        "answer_start": [37, 30],
    }
    (line,) = summary_lines(caplog)
    assert line.levelno == logging.WARNING
    assert "dropped 1 as misplaced" in line.getMessage()
    assert "kept 1 questions with some answers misplaced" in line.getMessage()


def test_empty_answer_texts_mean_no_answer_as_in_the_official_script(tmp_path, caplog):
    context = "Tesla was born in Smiljan in 1856."
    empty_only = {"id": "e", "question": "Who?", "answers": [{"text": "", "answer_start": -1}]}
    mixed = question("m", context, "When?", "1856")
    mixed["answers"].insert(0, {"text": " ", "answer_start": 0})
    path = squad_file(tmp_path, [(context, [empty_only, mixed])])
    with caplog.at_level(logging.INFO, logger="alqa.data"):
        rows = load_split(str(path), None, "t", TRAIN_KEY)
    by_id = {r["id"]: r["answers"] for r in rows}
    assert by_id == {
        "e": {"text": [], "answer_start": []},
        "m": {"text": ["1856"], "answer_start": [29]},
    }
    (line,) = summary_lines(caplog)
    assert "(1 unanswerable)" in line.getMessage()
    assert "dropped empty answer texts of 2 questions" in line.getMessage()


def test_a_very_long_context_loads_and_its_answer_lands_in_one_window(tmp_path):
    from omegaconf import OmegaConf

    from alqa.features import tokenize_questions
    from alqa.modeling import load_tokenizer

    context = " ".join(f"word{i}" for i in range(10_000)) + " The treasure is in Tallinn."
    path = squad_file(tmp_path, [(context, [question("long", context, "Where?", "Tallinn")])])
    (row,) = load_split(str(path), None, "train", TRAIN_KEY)
    assert len(row["context"]) > 80_000 and row["answers"]["answer_start"] == [len(context) - 8]
    model_cfg = OmegaConf.load(REPO_ROOT / "conf" / "model" / "tiny.yaml")
    features = tokenize_questions([row], load_tokenizer(model_cfg), 256, 64)
    assert features.num_features > 100  # hundreds of windows, one holds the answer
    (window,) = (features.start_positions > 0).nonzero().flatten().tolist()
    start, end = features.start_positions[window], features.end_positions[window]
    span = features.offsets[window, start, 0], features.offsets[window, end, 1]
    assert context[int(span[0]) : int(span[1])].lower() == "tallinn"


def test_subsample_is_reproducible_and_seed_dependent():
    rows = [{"id": str(i)} for i in range(100)]
    a, b, c = subsample(rows, 10, 0, 0), subsample(rows, 10, 0, 0), subsample(rows, 10, 1, 0)
    assert a == b and a != c and len(a) == 10
    assert [r["id"] for r in a] == sorted((r["id"] for r in a), key=int)  # file order kept
    assert subsample(rows, None, 0, 0) == rows


# --- a `datasets` source with other column names, saved to disk (the hub is not reachable) ---

COLUMNS = {
    "id": "qid",
    "context": "passage",
    "question": "query",
    "answers": "gold",
    "text": "spans",
    "answer_start": "offsets",
}


def renamed_records(count: int, offset: int = 0) -> list[dict]:
    """Records in a foreign layout: other names, no title, one unanswerable question."""
    records = []
    for i in range(offset, offset + count):
        context = f"Item {i} is stored in room {100 + i}."
        gold = {"spans": [str(100 + i)], "offsets": [context.index(str(100 + i))]}
        if i == offset:
            gold = {"spans": [], "offsets": []}
        records.append(
            {"qid": f"r{i}", "passage": context, "query": f"Where is {i}?", "gold": gold}
        )
    return records


@pytest.fixture(scope="module")
def saved_datasets(tmp_path_factory):
    """A DatasetDict (train + validation) and a single Dataset, written with save_to_disk."""
    import datasets

    folder = tmp_path_factory.mktemp("saved")
    train, validation = renamed_records(12), renamed_records(5, offset=100)
    splits = datasets.DatasetDict(
        train=datasets.Dataset.from_list(train),
        validation=datasets.Dataset.from_list(validation),
    )
    splits.save_to_disk(str(folder / "dict"))
    datasets.Dataset.from_list(train).save_to_disk(str(folder / "single"))
    return {"dict": str(folder / "dict"), "single": str(folder / "single")}


def test_columns_map_a_saved_dataset_dict_through_the_config(saved_datasets, monkeypatch):
    from conftest import compose
    from hydra.utils import instantiate

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a saved folder needs no hub
    mapping = "{" + ", ".join(f"{k}: {v}" for k, v in COLUMNS.items()) + "}"
    cfg = compose(
        [
            "dataset=squad",
            f"dataset.hub_name={saved_datasets['dict']}",
            f"dataset.columns={mapping}",
        ]
    )
    pool, evaluation = instantiate(cfg.dataset, _convert_="all").load(seed=0)
    assert [r["id"] for r in pool] == [f"r{i}" for i in range(12)]
    assert [r["id"] for r in evaluation] == [f"r{i}" for i in range(100, 105)]
    assert pool[3] == {
        "id": "r3",
        "title": "context_3",
        "context": "Item 3 is stored in room 103.",
        "question": "Where is 3?",
        "answers": {"text": ["103"], "answer_start": [25]},
    }
    assert pool[0]["answers"] == {"text": [], "answer_start": []}  # unanswerable, kept


def test_a_single_saved_dataset_pairs_with_a_file_but_never_serves_as_both(
    saved_datasets, tiny_data
):
    both = DatasetSource(name="x", hub_name=saved_datasets["single"], columns=COLUMNS)
    with pytest.raises(DatasetError, match="the same questions.*dataset.eval_file="):
        both.load(seed=0)
    source = DatasetSource(
        name="x",
        hub_name=saved_datasets["single"],
        eval_file=str(tiny_data["eval"]),
        columns=COLUMNS,
    )
    pool, evaluation = source.load(seed=0)
    assert len(pool) == 12 and len(evaluation) == 15


def test_a_column_the_dataset_lacks_is_named_with_its_override(saved_datasets):
    source = DatasetSource(name="x", hub_name=saved_datasets["dict"])  # no mapping
    with pytest.raises(
        DatasetError, match=r"no column 'context'.*passage.*\+\+dataset.columns.context="
    ):
        source.load(seed=0)
    with pytest.raises(DatasetError, match="no split 'test'"):
        DatasetSource(
            name="x", hub_name=saved_datasets["dict"], eval_split="test", columns=COLUMNS
        ).load(0)


@pytest.mark.parametrize(
    ("columns", "message"),
    [({"questions": "q"}, "dataset.columns.questions is not a field"), ({"id": 3}, "column name")],
)
def test_bad_column_mappings_are_refused_when_the_config_is_built(columns, message):
    with pytest.raises(DatasetError, match=message):
        DatasetSource(name="x", hub_name="h", columns=columns)


def test_columns_also_rename_a_jsonl_files_keys(tmp_path):
    path = tmp_path / "renamed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in renamed_records(3)) + "\n")
    rows = load_split(str(path), None, "train", TRAIN_KEY, columns=COLUMNS)
    assert [r["id"] for r in rows] == ["r0", "r1", "r2"]
    assert rows[2]["answers"] == {"text": ["102"], "answer_start": [25]}


def test_evaluation_questions_also_in_the_pool_are_warned_of_whatever_their_ids(tmp_path, caplog):
    from alqa.data import load_pool_and_eval

    document = make_squad(4, seed=3)
    pool_file = tmp_path / "pool.json"
    pool_file.write_text(json.dumps(document))
    paragraph = document["data"][0]["paragraphs"][0]
    for number, qa in enumerate(paragraph["qas"]):
        qa["id"] = f"renamed-{number}"  # another dataset's id scheme, same questions
    eval_file = squad_file(tmp_path, [(paragraph["context"], paragraph["qas"])], name="e.json")
    other_file = tmp_path / "other.json"
    other_file.write_text(json.dumps(make_squad(2, seed=9)))
    common = dict(hub_name=None, train_split="train", eval_split="validation", seed=0)
    with caplog.at_level(logging.WARNING, logger="alqa.data"):
        load_pool_and_eval(
            train_file=str(pool_file),
            eval_file=str(other_file),
            **common,
            pool_size=None,
            eval_size=None,
        )
        assert not [r for r in caplog.records if "also in the pool" in r.getMessage()]
        load_pool_and_eval(
            train_file=str(pool_file),
            eval_file=str(eval_file),
            **common,
            pool_size=None,
            eval_size=None,
        )
    warned = [r.getMessage() for r in caplog.records if "also in the pool" in r.getMessage()]
    shared = len(paragraph["qas"])
    assert warned and warned[0].startswith(f"{shared} of the {shared} evaluation questions")


@pytest.mark.parametrize(
    ("flag", "unanswerable"),
    [
        (False, False),
        ("False", False),
        ("false", False),
        (0, False),
        ("no", False),
        (True, True),
        ("True", True),
        (1, True),
        ("yes", True),
    ],
)
def test_is_impossible_written_as_text_or_a_number_is_read_as_a_truth_value(
    tmp_path, flag, unanswerable
):
    context = "Paris is the capital of France."
    record = {**flat("a", context, "Paris"), "is_impossible": flag}
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text(json.dumps(record) + "\n")
    squad = squad_file(
        tmp_path, [(context, [question("a", context, "q?", "Paris", is_impossible=flag)])]
    )
    for path in (jsonl, squad):
        answers = read_qa_file(path)[0]["answers"]
        assert answers["text"] == ([] if unanswerable else ["Paris"])


def test_jsonl_lines_end_at_newlines_only_not_at_unicode_line_separators(tmp_path):
    contexts = ["Paris\u2028is the capital.", "Rome\x85is old.", "Oslo\u2029is cold."]
    path = tmp_path / "d.jsonl"
    records = [flat(f"q{i}", c, c[:4]) for i, c in enumerate(contexts)]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n")
    rows = read_qa_file(path)
    assert [r["context"] for r in rows] == contexts


def test_columns_rename_a_squad_layout_files_fields_and_standard_names_still_read(tmp_path):
    context = "Paris is the capital of France."
    renamed = {"qid": "x1", "query": "capital?", "answers": [{"text": "Paris", "answer_start": 0}]}
    path = squad_file(
        tmp_path, [(context, [renamed, question("x2", context, "country?", "France")])]
    )
    rows = read_qa_records(path, columns={"id": "qid", "question": "query"}).rows
    assert [(r["id"], r["question"]) for r in rows] == [("x1", "capital?"), ("x2", "country?")]


def test_questions_with_an_empty_question_or_context_are_dropped_and_counted(tmp_path, caplog):
    context = "Paris is the capital of France."
    blank_question = question("b", context, "  ", "Paris")
    kept = question("k", context, "capital?", "Paris")
    path = squad_file(
        tmp_path,
        [
            (context, [blank_question, kept]),
            (" \n", [{"id": "c", "question": "why?", "answers": []}]),
        ],
    )
    with caplog.at_level(logging.INFO, logger="alqa.data"):
        rows = load_split(str(path), None, "t", TRAIN_KEY)
    assert [r["id"] for r in rows] == ["k"]
    (line,) = summary_lines(caplog)
    assert line.levelno == logging.WARNING
    assert "dropped 2 questions with an empty question or context" in line.getMessage()
    assert "first: b, c" in line.getMessage()
