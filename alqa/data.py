"""Loading extractive-QA data: SQuAD JSON (.json/.json.gz), flat JSONL, or a `datasets` source.

Every loader returns the same flat rows, one per question:
``{"id", "title", "context", "question", "answers": {"text": [...], "answer_start": [...]}}``.

What the loader repairs, and what it refuses (one summary line per file gives the counts):

- Rows none of whose answer texts is found at its ``answer_start`` are dropped: an oracle
  that reveals a misplaced span would silently train the model on the wrong tokens. When
  only some are misplaced (a dev question's third reference, say), an answer in place comes
  first (the training target) and the others stay as reference texts, as EM/F1 use texts.
- Unanswerable questions (SQuAD 2.0: no answers, ``is_impossible: true``, or only empty
  answer texts, as the official script reads them) are kept, with empty answer lists.
- A repeated question id is renamed ``<id>#2``, ``<id>#3``...: the labeled set is a set of ids.
- A missing id or title is generated from the question's position in the file, so the same
  file always gives the same ids (a resumed run finds its labeled questions again).
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import json
import logging
import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

QARow = dict[str, Any]

#: a row key set (True) on questions whose answers are not known yet, e.g. a pool that people
#: will label (oracle=label_studio): its empty answer lists do not mean "unanswerable"
ANSWERS_UNKNOWN = "answers_unknown"


def answers_unknown(row: QARow) -> bool:
    """Whether the row's answers are not known (as opposed to known to be none)."""
    return bool(row.get(ANSWERS_UNKNOWN))


def with_answers_unknown(rows: Iterable[QARow]) -> list[QARow]:
    """Copies of the rows with their answers removed and marked unknown."""
    return [
        {**row, "answers": {"text": [], "answer_start": []}, ANSWERS_UNKNOWN: True} for row in rows
    ]


PACKAGE_SCHEME = "pkg://"
# alqa's names for a flat record's fields; `columns:` maps them to a dataset's own names
COLUMN_KEYS = (
    "id",
    "title",
    "context",
    "question",
    "answers",
    "text",  # inside answers
    "answer_start",  # inside answers
    "is_impossible",  # optional; true makes the question unanswerable
)
FILE_HINT = (
    "dataset.train_file=<path to train-v1.1.json> dataset.eval_file=<path to dev-v1.1.json> "
    "(SQuAD JSON or JSONL), or dataset=squad_sample (embedded, offline)"
)


class DatasetError(ValueError):
    """A dataset that cannot be used as given; the message says what to change."""


@dataclass
class ParsedRows:
    """The rows read from one source, and how many ids and titles the reader had to invent."""

    rows: list[QARow]
    generated_ids: int = 0
    generated_titles: int = 0


@dataclass(frozen=True)
class LoadCounts:
    """What validation did to one source: the numbers of the summary line."""

    kept: int
    unanswerable: int
    misplaced: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    generated_ids: int = 0
    generated_titles: int = 0
    partly_misplaced: int = 0  # kept: another answer is in place
    with_empty_answers: int = 0  # empty answer texts, read as "no answer"
    blank: list[str] = field(default_factory=list)  # dropped: no question or no context

    def summary(self, source: str) -> str:
        """One line with every count; the first few affected ids where something changed."""
        dropped = ", ".join(self.misplaced[:5])
        renamed = ", ".join(f"{old} -> {new}" for old, new in self.renamed[:5])
        return (
            f"{source}: kept {self.kept} questions ({self.unanswerable} unanswerable), "
            f"dropped {len(self.misplaced)} as misplaced (answer text not at answer_start"
            + (f"; first: {dropped}" if dropped else "")
            + f"), renamed {len(self.renamed)} repeated ids"
            + (f" ({renamed})" if renamed else "")
            + f", generated {self.generated_ids} ids and {self.generated_titles} titles"
            + self._repairs()
        )

    def _repairs(self) -> str:
        """The counts of rarer repairs, only when they happened (most files need none)."""
        parts = []
        if self.partly_misplaced:
            parts.append(
                f"kept {self.partly_misplaced} questions with some answers misplaced (an "
                "answer in place is the first; the others still count as reference texts)"
            )
        if self.blank:
            parts.append(
                f"dropped {len(self.blank)} questions with an empty question or context "
                f"(nothing to ask or to answer from; first: {', '.join(self.blank[:5])})"
            )
        if self.with_empty_answers:
            parts.append(
                f"dropped empty answer texts of {self.with_empty_answers} questions (read as "
                "no answer, as the official SQuAD 2.0 script does)"
            )
        return "".join(f"; {part}" for part in parts)

    @property
    def level(self) -> int:
        """WARNING when questions were dropped or renamed (the data is not what it says)."""
        changed = self.misplaced or self.renamed or self.partly_misplaced or self.blank
        return logging.WARNING if changed or self.with_empty_answers else logging.INFO


GZIP_MAGIC = b"\x1f\x8b"


def _read_text(path: Path) -> str:
    """The text of a plain or gzipped file, told apart by content, not by name (a ``.gz``
    that is plain text reads as text). utf-8-sig drops a byte-order mark, which is not JSON
    (some editors on Windows write one)."""
    raw = path.read_bytes()
    if raw[:2] == GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DatasetError(
                f"{path}: a damaged gzip file ({error}); gzip it again from the original"
            ) from None
    _refuse_other_formats(path, raw)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetError(
            f"{path}: not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
            "save it as UTF-8, e.g. iconv -f <its encoding, say latin1> -t utf-8 <file> > "
            "<new file>"
        ) from None


#: file signatures of compressions alqa does not read, and the command that undoes each
OTHER_COMPRESSIONS = {
    b"\xfd7zXZ\x00": ("xz", "xz -d <file>"),
    b"BZh": ("bzip2", "bunzip2 <file>"),
    b"PK\x03\x04": ("zip", "unzip <file>"),
    b"\x28\xb5\x2f\xfd": ("zstd", "zstd -d <file>"),
}


def _refuse_other_formats(path: Path, raw: bytes) -> None:
    """Name what a file that is no UTF-8 text is: another compression, or UTF-16 (what
    Windows PowerShell writes), each with the command that makes it readable."""
    for magic, (name, command) in OTHER_COMPRESSIONS.items():
        if raw.startswith(magic):
            raise DatasetError(
                f"{path}: a {name}-compressed file; alqa reads plain or gzipped files: "
                f"decompress it ({command}) or gzip the original"
            )
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in raw[:1000]:
        raise DatasetError(
            f"{path}: UTF-16 text (as Windows PowerShell writes); save it as UTF-8, e.g. "
            "iconv -f utf-16 -t utf-8 <file> > <new file>"
        )


def _given(value: Any) -> str | None:
    """An id or title as text, or None when it is absent or empty (then it is generated)."""
    if value is None or value == "":
        return None
    return str(value)


def _text(value: Any, what: str) -> str:
    """``value`` if it is a string: a number as context would fail much later, in tokenising."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be text, got {type(value).__name__}")
    return value


_TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
_FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", ""})


def _flag(value: Any, what: str) -> bool:
    """A true/false field as JSON, CSV or pandas exports write it: ``true``, ``"False"``,
    ``0``, ``"yes"``; ``bool("False")`` would be True and silently drop every answer."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _TRUE_WORDS or word in _FALSE_WORDS:
        return word in _TRUE_WORDS
    raise ValueError(f"{what} must be true or false, got {value!r}")


def _answer_lists(texts: Iterable[Any], starts: Iterable[Any], impossible: bool) -> dict:
    """``answers`` in the flat layout; an unanswerable question has empty lists, even when its
    file also lists (plausible) answers for it."""
    if impossible:
        return {"text": [], "answer_start": []}
    if isinstance(texts, (str, bytes)) or isinstance(starts, (str, bytes, int)):
        raise ValueError("answers' text and answer_start must be lists (one entry per answer)")
    texts, starts = list(texts), list(starts)
    if len(texts) != len(starts):
        raise ValueError(f"answers have {len(texts)} texts but {len(starts)} answer_start values")
    return {
        "text": [_text(t, "answer text") for t in texts],
        "answer_start": [int(s) for s in starts],
    }


def _fill_missing_ids(rows: list[QARow], missing: list[tuple[int, str]]) -> int:
    """Give the rows at ``missing`` their positional id, stepping past any id the file holds."""
    taken = {row["id"] for row in rows if row["id"] is not None}
    for index, fallback in missing:
        candidate, n = fallback, 2
        while candidate in taken:
            candidate, n = f"{fallback}~{n}", n + 1
        rows[index]["id"] = candidate
        taken.add(candidate)
    return len(missing)


def _field(record: Mapping[str, Any], names: Mapping[str, str], key: str, required=False) -> Any:
    """A SQuAD-layout field under its ``columns`` name, else its standard one: one config
    may pair a renamed source with a standard SQuAD file."""
    name = names[key] if names[key] in record else key
    return record[name] if required else record.get(name)


def _rows_from_squad_json(
    document: Any, path: Path, columns: Mapping[str, str] | None = None
) -> ParsedRows:
    """Flatten the SQuAD layout; a missing id becomes ``generated-<article>-<paragraph>-<q>``
    and a missing title ``article_<n>``, positions that do not change between reads.
    ``columns`` renames the fields of articles, paragraphs and questions where the file
    uses the new name (``data``, ``paragraphs`` and ``qas`` are the layout itself)."""
    names = _column_names(columns)
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise DatasetError(
            f"{path}: expected the SQuAD JSON layout {{'data': [{{'title', 'paragraphs': "
            "[{'context', 'qas': [...]}]}]}} (or a JSONL file with one question per line)"
        )
    rows: list[QARow] = []
    missing: list[tuple[int, str]] = []
    generated_titles = 0
    for a, article in enumerate(document["data"]):
        try:
            title = _given(_field(article, names, "title"))
            if title is None:
                title = f"article_{a}"
                generated_titles += sum(len(p["qas"]) for p in article["paragraphs"])
            for p, paragraph in enumerate(article["paragraphs"]):
                context = _text(_field(paragraph, names, "context", required=True), "context")
                for q, qa in enumerate(paragraph["qas"]):
                    impossible = _flag(_field(qa, names, "is_impossible"), "is_impossible")
                    answers = _field(qa, names, "answers")
                    unknown = answers is None and not impossible
                    question_id = _given(_field(qa, names, "id"))
                    if question_id is None:
                        missing.append((len(rows), f"generated-{a}-{p}-{q}"))
                    rows.append(
                        {
                            **({ANSWERS_UNKNOWN: True} if unknown else {}),
                            "id": question_id,
                            "title": title,
                            "context": context,
                            "question": _text(
                                _field(qa, names, "question", required=True), "question"
                            ),
                            "answers": _answer_lists(
                                [_field(x, names, "text", required=True) for x in answers or []],
                                [
                                    _field(x, names, "answer_start", required=True)
                                    for x in answers or []
                                ],
                                impossible,
                            ),
                        }
                    )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            what = f"missing key {error}" if isinstance(error, KeyError) else str(error)
            raise DatasetError(
                f"{path}: article {a} is malformed ({what}); "
                "every paragraph needs 'context' and 'qas', every question 'question' "
                "and 'answers' with 'text' and 'answer_start'"
            ) from error
    generated_ids = _fill_missing_ids(rows, missing)
    return ParsedRows(rows, generated_ids, generated_titles)


def _column_names(columns: Mapping[str, str] | None) -> dict[str, str]:
    """alqa's field names to the source's own (identity where ``columns`` says nothing)."""
    return {key: (columns or {}).get(key) or key for key in COLUMN_KEYS}


def _row_from_record(record: Mapping[str, Any], names: Mapping[str, str]) -> QARow:
    """One flat record (a JSONL line or a `datasets` row) as a row; id and title may be None.

    ``answers`` may be ``{"text": [...], "answer_start": [...]}`` (the hub's SQuAD layout) or a
    list of ``{"text", "answer_start"}`` (SQuAD JSON's). A record without ``answers`` is a
    question whose answers are unknown (a pool to be labeled).
    """
    impossible = _flag(record.get(names["is_impossible"]), names["is_impossible"])
    unknown = names["answers"] not in record and not impossible
    answers = record.get(names["answers"]) or []
    text, start = names["text"], names["answer_start"]
    if isinstance(answers, Mapping):
        texts, starts = answers[text], answers[start]
    else:
        texts, starts = [a[text] for a in answers], [a[start] for a in answers]
    return {
        **({ANSWERS_UNKNOWN: True} if unknown else {}),
        "id": _given(record.get(names["id"])),
        "title": _given(record.get(names["title"])),
        "context": _text(record[names["context"]], "context"),
        "question": _text(record[names["question"]], "question"),
        "answers": _answer_lists(texts, starts, impossible),
    }


def _finish_flat_rows(rows: list[QARow], fallback_ids: list[str]) -> ParsedRows:
    """Generate the missing ids (from ``fallback_ids``, one per row) and titles of flat rows.

    A generated title names the row's context (``context_<k>``: the k-th distinct context),
    so questions on one paragraph share it, as they share an article title in SQuAD.
    """
    missing = [(i, fallback_ids[i]) for i, row in enumerate(rows) if row["id"] is None]
    contexts: dict[str, int] = {}
    generated_titles = 0
    for row in rows:
        number = contexts.setdefault(row["context"], len(contexts))
        if row["title"] is None:
            row["title"] = f"context_{number}"
            generated_titles += 1
    return ParsedRows(rows, _fill_missing_ids(rows, missing), generated_titles)


#: a flat record and where it is in its file: ("line", 3, <thunk>) or ("item", 3, <thunk>)
FlatRecord = tuple[str, int, Callable[[], Any]]


def _jsonl_records(text: str) -> Iterator[FlatRecord]:
    """One question per non-empty line, parsed when read (so the error names its line)."""
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            yield "line", number, functools.partial(json.loads, line)


def _listed_records(document: list) -> Iterator[FlatRecord]:
    """The records of a JSON array of flat records (pandas' ``to_json(orient="records")``)."""
    for number, record in enumerate(document, start=1):
        yield "item", number, (lambda record=record: record)


def _rows_from_records(
    records: Iterable[FlatRecord], path: Path, columns: Mapping[str, str] | None = None
) -> ParsedRows:
    """Flat records; a missing id becomes ``generated-line<n>`` (or ``-item<n>``): its place."""
    names = _column_names(columns)
    rows: list[QARow] = []
    fallback_ids: list[str] = []
    for kind, number, read in records:
        try:
            rows.append(_row_from_record(read(), names))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as error:
            raise DatasetError(
                f"{path}, {kind} {number}: not a valid question record ({error!r}); each "
                f"{kind} needs context, question and answers{{text, answer_start}} (id and "
                "title are optional; other names: ++dataset.columns.<name>=<key>)"
            ) from error
        fallback_ids.append(f"generated-{kind}{number}")
    return _finish_flat_rows(rows, fallback_ids)


def _not_json_error(path: Path, text: str, error: json.JSONDecodeError) -> DatasetError | None:
    """The whole-document JSON error, when the file is not JSONL either (its first line is
    no JSON), so a broken pretty-printed SQuAD file is not reported as a bad JSONL line 1."""
    first_line = next(line for line in text.split("\n") if line.strip())
    try:
        json.loads(first_line)
    except json.JSONDecodeError:
        return DatasetError(
            f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}) and not JSONL either; alqa reads SQuAD-layout JSON, a JSON list "
            "of questions, or JSONL with one question per line"
        )
    return None


def read_qa_records(
    path: str | os.PathLike[str], columns: Mapping[str, str] | None = None
) -> ParsedRows:
    """Read a SQuAD-layout JSON, a JSON list of flat records or a JSONL file (each optionally
    gzipped), with what was generated; ``columns`` renames the records' keys."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset file not found: {path}")
    text = _read_text(path)
    if not text.strip():
        raise DatasetError(f"{path}: the file is empty")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        refusal = _not_json_error(path, text, error)
        if refusal is not None:
            raise refusal from None
        document = None
    question_key = _column_names(columns)["question"]
    if isinstance(document, dict) and question_key not in document:
        return _rows_from_squad_json(document, path, columns)
    if isinstance(document, list):
        return _rows_from_records(_listed_records(document), path, columns)
    return _rows_from_records(_jsonl_records(text), path, columns)  # one-line JSONL: a dict


def read_qa_file(path: str | os.PathLike[str]) -> list[QARow]:
    """Read a SQuAD-layout JSON (optionally gzipped) or a flat JSONL file into rows."""
    return read_qa_records(path).rows


def _unique_ids(rows: Sequence[QARow]) -> tuple[list[QARow], list[tuple[str, str]]]:
    """Rename every repeat of an id to ``<id>#<n>`` (n = its occurrence, stepping past ids the
    data already holds), so file order alone decides the new ids."""
    taken = {row["id"] for row in rows}
    seen: set[str] = set()
    occurrences: Counter[str] = Counter()
    unique: list[QARow] = []
    renamed: list[tuple[str, str]] = []
    for row in rows:
        old = row["id"]
        occurrences[old] += 1
        if old not in seen:
            seen.add(old)
            unique.append(row)
            continue
        n = occurrences[old]
        while f"{old}#{n}" in taken:
            n += 1
        new = f"{old}#{n}"
        taken.add(new)
        seen.add(new)
        renamed.append((old, new))
        unique.append({**row, "id": new})
    return unique, renamed


@dataclass(frozen=True)
class CheckedAnswers:
    """One question's answers after the checks: empty texts removed, in-place ones first."""

    answers: dict[str, list]
    in_place: int  # answers whose text sits at their answer_start
    misplaced: int  # answers whose text does not (their text still counts as a reference)
    empty: int  # empty answer texts: no answer, as the official SQuAD 2.0 script reads them


def check_answers(row: QARow) -> CheckedAnswers:
    """Sort a question's answers so the first (the training target, the oracle's span) is one
    whose text sits at its answer_start; misplaced ones stay after it as references, since
    SQuAD's EM/F1 compare texts only. Empty texts are dropped: they mean "no answer"."""
    texts, starts = row["answers"]["text"], row["answers"]["answer_start"]  # as long (read so)
    context = row["context"]
    given = [(text, start) for text, start in zip(texts, starts) if text.strip()]
    placed = [start >= 0 and context[start : start + len(text)] == text for text, start in given]
    ordered = [a for a, ok in zip(given, placed) if ok] + [
        a for a, ok in zip(given, placed) if not ok
    ]
    answers = {"text": [t for t, _ in ordered], "answer_start": [s for _, s in ordered]}
    return CheckedAnswers(answers, sum(placed), len(placed) - sum(placed), len(texts) - len(given))


def validate_rows(
    rows: Sequence[QARow], source: str, *, generated_ids: int = 0, generated_titles: int = 0
) -> list[QARow]:
    """Make ids unique, keep unanswerable questions and those with an answer at its
    answer_start; log one summary line with the counts (WARNING if any row was changed)."""
    unique, renamed = _unique_ids(rows)
    kept: list[QARow] = []
    misplaced: list[str] = []
    blank: list[str] = []
    unanswerable = partly_misplaced = with_empty = 0
    for row in unique:
        if not row["question"].strip() or not row["context"].strip():
            blank.append(row["id"])
            continue
        if answers_unknown(row):
            kept.append(row)  # to be labeled: neither unanswerable nor misplaced
            continue
        checked = check_answers(row)
        with_empty += checked.empty > 0
        if checked.in_place == 0 and checked.misplaced:
            misplaced.append(row["id"])
            continue
        unanswerable += checked.in_place == 0
        partly_misplaced += checked.misplaced > 0
        kept.append(
            row if checked.answers == row["answers"] else {**row, "answers": checked.answers}
        )
    counts = LoadCounts(
        len(kept),
        unanswerable,
        misplaced,
        renamed,
        generated_ids,
        generated_titles,
        partly_misplaced,
        with_empty,
        blank,
    )
    log.log(counts.level, counts.summary(source))
    if not kept:
        raise DatasetError(f"{source}: no usable question left after validation")
    return kept


def subsample(rows: Sequence[QARow], size: int | None, seed: int, stream: int) -> list[QARow]:
    """A reproducible random subset of ``size`` questions (``None`` keeps all), in file order."""
    if size is None or size >= len(rows):
        return list(rows)
    if size <= 0:
        raise DatasetError(f"subsample size must be positive or null, got {size}")
    rng = np.random.default_rng([seed, stream])
    chosen = np.sort(rng.choice(len(rows), size=size, replace=False))
    return [rows[i] for i in chosen]


def is_saved_dataset(name: str) -> bool:
    """Whether ``name`` is a folder written by ``Dataset.save_to_disk`` or
    ``DatasetDict.save_to_disk`` (read with ``load_from_disk``, no hub involved)."""
    folder = Path(name)
    return (folder / "dataset_dict.json").is_file() or (folder / "state.json").is_file()


def _load_saved(name: str, split: str):
    """A ``save_to_disk`` folder: a DatasetDict gives the asked split, a Dataset itself."""
    import datasets

    try:
        loaded = datasets.load_from_disk(name)
    except Exception as error:  # noqa: BLE001 - a damaged folder: say which one
        raise DatasetError(
            f"could not read the saved dataset {name!r} ({type(error).__name__}: {error}); "
            "write it again with Dataset.save_to_disk or DatasetDict.save_to_disk"
        ) from error
    if not isinstance(loaded, datasets.DatasetDict):
        return loaded  # one split: whichever split asks gets it (see load_pool_and_eval)
    if split not in loaded:
        raise DatasetError(
            f"the saved dataset {name!r} has no split {split!r} (splits: "
            f"{', '.join(loaded)}); set dataset.train_split / dataset.eval_split"
        )
    return loaded[split]


def _load_hub(name: str, split: str):
    """One split from the hub; offline or unreachable, a message naming the local route."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        raise DatasetError(
            f"dataset {name!r} needs the Hugging Face hub, which is offline: pass local "
            f"files instead, e.g. {FILE_HINT}"
        )
    try:
        import datasets

        return datasets.load_dataset(name, split=split)
    except Exception as error:  # noqa: BLE001 - any failure here means "hub not reachable"
        raise DatasetError(
            f"could not load {name!r} split {split!r} from the Hugging Face hub "
            f"({type(error).__name__}: {error}); pass local files instead, e.g. {FILE_HINT}"
        ) from error


def _check_columns(loaded: Any, names: Mapping[str, str], source: str) -> None:
    """Name a missing column and the ``columns:`` key that maps it, before reading any row."""
    present = set(loaded.column_names)
    for key in ("context", "question", "answers"):
        if names[key] not in present:
            raise DatasetError(
                f"{source} has no column {names[key]!r} for {key} (columns: "
                f"{', '.join(sorted(present))}); map it with ++dataset.columns.{key}=<column>"
            )


def _hub_rows(hub_name: str, split: str, columns: Mapping[str, str] | None = None) -> ParsedRows:
    """Rows of a hub dataset, or of a folder saved with ``save_to_disk``."""
    source = f"{hub_name}[{split}]"
    if is_saved_dataset(hub_name):
        loaded = _load_saved(hub_name, split)
    else:
        loaded = _load_hub(hub_name, split)
    names = _column_names(columns)
    _check_columns(loaded, names, source)
    rows: list[QARow] = []
    for index, record in enumerate(loaded.to_list()):
        try:
            rows.append(_row_from_record(record, names))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise DatasetError(
                f"{source}, row {index}: not a valid question ({error!r}); answers needs "
                "text and answer_start (other names: ++dataset.columns.text=<field>, "
                "++dataset.columns.answer_start=<field>)"
            ) from error
    return _finish_flat_rows(rows, [f"generated-row{i}" for i in range(len(rows))])


@contextmanager
def _local_path(file: str, key: str) -> Iterator[Path]:
    """The file on disk; ``pkg://<package>/<path>`` is a file inside an installed package."""
    if not file.startswith(PACKAGE_SCHEME):
        path = Path(file)
        if path.is_dir():
            raise DatasetError(f"{key}={file}: a folder, not a file; give the data file in it")
        if not path.is_file():
            raise DatasetError(f"{key}={file}: file not found (cwd: {Path.cwd()})")
        yield path
        return
    package, _, inner = file[len(PACKAGE_SCHEME) :].partition("/")
    try:
        resource = importlib.resources.files(package).joinpath(inner)
    except (ModuleNotFoundError, ValueError, TypeError) as error:
        raise DatasetError(f"{key}={file}: no installed Python package {package!r}") from error
    if not resource.is_file():
        raise DatasetError(
            f"{key}={file}: the package {package!r} has no file {inner!r}; reinstall it "
            "(pip install -e .) or pass a file path"
        )
    with importlib.resources.as_file(resource) as path:
        yield path


def load_split(
    file: str | None,
    hub_name: str | None,
    hub_split: str,
    key: str,
    columns: Mapping[str, str] | None = None,
) -> list[QARow]:
    """Rows from a local file when given, else from the hub; ``key`` names the config key."""
    if file:
        with _local_path(file, key) as path:
            parsed = read_qa_records(path, columns)
        source = f"{key}={file}"
    elif hub_name:
        parsed = _hub_rows(hub_name, hub_split, columns)
        source = f"{hub_name}[{hub_split}]"
    else:
        raise DatasetError(f"{key} is not set and the dataset config names no hub dataset")
    return validate_rows(
        parsed.rows,
        source,
        generated_ids=parsed.generated_ids,
        generated_titles=parsed.generated_titles,
    )


def _same_questions_twice(
    train_file: str | None, eval_file: str | None, hub_name: str | None
) -> None:
    """Refuse a single saved Dataset as both pool and evaluation set: scores on the pool
    itself would look like learning."""
    if train_file or eval_file or not hub_name or not is_saved_dataset(hub_name):
        return
    if not (Path(hub_name) / "dataset_dict.json").is_file():
        raise DatasetError(
            f"dataset.hub_name={hub_name} is one saved Dataset, so the pool and the "
            "evaluation set would be the same questions: save a DatasetDict with both "
            "splits, or set dataset.eval_file=<path to dev-v1.1.json>"
        )


def load_pool_and_eval(
    *,
    train_file: str | None,
    eval_file: str | None,
    hub_name: str | None,
    train_split: str,
    eval_split: str,
    pool_size: int | None,
    eval_size: int | None,
    seed: int,
    columns: Mapping[str, str] | None = None,
) -> tuple[list[QARow], list[QARow]]:
    """The unlabeled pool (whose gold answers play the oracle) and the evaluation set."""
    _same_questions_twice(train_file, eval_file, hub_name)
    pool = load_split(train_file, hub_name, train_split, "dataset.train_file", columns)
    # no evaluation source: none (the oracle decides whether it may do without one)
    evaluation = (
        load_split(eval_file, hub_name, eval_split, "dataset.eval_file", columns)
        if eval_file or hub_name
        else []
    )
    pool = subsample(pool, pool_size, seed, stream=0)
    evaluation = subsample(evaluation, eval_size, seed, stream=1)
    log.info("pool: %d questions, eval: %d questions", len(pool), len(evaluation))
    warn_of_shared_questions(pool, evaluation)
    return pool, evaluation


def warn_of_shared_questions(pool: list[QARow], evaluation: list[QARow]) -> int:
    """Warn when evaluation questions are also in the pool (same question on the same context,
    whatever their ids: XQuAD-en, say, is taken from SQuAD's dev set): once labeled, their
    scores measure memory, not learning. Returns how many are shared."""
    in_pool = {(row["question"].strip(), row["context"]) for row in pool}
    shared = sum((row["question"].strip(), row["context"]) in in_pool for row in evaluation)
    if shared:
        log.warning(
            "%d of the %d evaluation questions are also in the pool (same question and "
            "context): labeled ones would score memory, not learning; evaluate on questions "
            "the pool does not hold (another split or file)",
            shared,
            len(evaluation),
        )
    return shared


@dataclass(frozen=True)
class DatasetSource:
    """The ``dataset`` config group as an object (``_target_``): where the pool and the
    evaluation questions come from, and how many of each to keep.

    ``hub_name`` is a hub dataset or a folder written by ``save_to_disk``; ``columns`` maps
    alqa's field names (see ``COLUMN_KEYS``) to that dataset's (or a JSONL file's) own names.
    """

    name: str
    hub_name: str | None = None
    train_split: str = "train"
    eval_split: str = "validation"
    train_file: str | None = None
    eval_file: str | None = None
    pool_size: int | None = None
    eval_size: int | None = None
    columns: dict[str, str] | None = None

    def __post_init__(self) -> None:
        for key in ("pool_size", "eval_size"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise DatasetError(f"dataset.{key} must be a whole number or null, got {value!r}")
            if value is not None and value < 1:
                raise DatasetError(f"dataset.{key} must be at least 1 or null (all), got {value}")
        self._check_columns()

    def _check_columns(self) -> None:
        """A typo in ``columns`` would otherwise surface as a missing column much later."""
        if self.columns is None:
            return
        if not isinstance(self.columns, Mapping):
            raise DatasetError(f"dataset.columns must be a mapping, got {self.columns!r}")
        for key, value in self.columns.items():
            if key not in COLUMN_KEYS:
                raise DatasetError(
                    f"dataset.columns.{key} is not a field alqa reads; "
                    f"choose from {', '.join(COLUMN_KEYS)}"
                )
            if value is not None and (not isinstance(value, str) or not value):
                raise DatasetError(
                    f"dataset.columns.{key} must be a column name or null, got {value!r}"
                )

    def load(self, seed: int) -> tuple[list[QARow], list[QARow]]:
        """The pool and the evaluation set, subsampled reproducibly by ``seed``."""
        return load_pool_and_eval(
            train_file=self.train_file,
            eval_file=self.eval_file,
            hub_name=self.hub_name,
            train_split=self.train_split,
            eval_split=self.eval_split,
            pool_size=self.pool_size,
            eval_size=self.eval_size,
            seed=seed,
            columns=self.columns,
        )
