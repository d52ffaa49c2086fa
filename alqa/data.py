"""Loading extractive-QA data: SQuAD JSON (.json/.json.gz), flat JSONL, or the HF hub.

Every loader returns the same flat rows, one per question:
``{"id", "title", "context", "question", "answers": {"text": [...], "answer_start": [...]}}``.
Rows whose answer text is not found at its ``answer_start`` are reported and dropped: an
oracle that reveals a misplaced span would silently train the model on the wrong tokens.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

QARow = dict[str, Any]


class DatasetError(ValueError):
    """A dataset that cannot be used as given; the message says what to change."""


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def _rows_from_squad_json(document: Any, path: Path) -> list[QARow]:
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise DatasetError(
            f"{path}: expected the SQuAD JSON layout {{'data': [{{'title', 'paragraphs': "
            "[{'context', 'qas': [...]}]}]}} (or a JSONL file with one question per line)"
        )
    rows: list[QARow] = []
    for article_number, article in enumerate(document["data"]):
        try:
            title = article.get("title", "")
            for paragraph in article["paragraphs"]:
                context = paragraph["context"]
                for qa in paragraph["qas"]:
                    answers = qa.get("answers", [])
                    rows.append(
                        {
                            "id": str(qa["id"]),
                            "title": title,
                            "context": context,
                            "question": qa["question"],
                            "answers": {
                                "text": [a["text"] for a in answers],
                                "answer_start": [int(a["answer_start"]) for a in answers],
                            },
                        }
                    )
        except (KeyError, TypeError) as error:
            raise DatasetError(
                f"{path}: article {article_number} is malformed (missing or wrong key {error}); "
                "every paragraph needs 'context' and 'qas', every question 'id', 'question' "
                "and 'answers' with 'text' and 'answer_start'"
            ) from error
    return rows


def _rows_from_jsonl(lines: Iterable[str], path: Path) -> list[QARow]:
    rows: list[QARow] = []
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            answers = record["answers"]
            rows.append(
                {
                    "id": str(record["id"]),
                    "title": record.get("title", ""),
                    "context": record["context"],
                    "question": record["question"],
                    "answers": {
                        "text": list(answers["text"]),
                        "answer_start": [int(s) for s in answers["answer_start"]],
                    },
                }
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise DatasetError(
                f"{path}, line {line_number}: not a valid question record ({error!r}); each "
                "line needs id, context, question and answers{text, answer_start}"
            ) from error
    return rows


def read_qa_file(path: str | os.PathLike[str]) -> list[QARow]:
    """Read a SQuAD-layout JSON (optionally gzipped) or a flat JSONL file into rows."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"dataset file not found: {path}")
    with _open_text(path) as handle:
        text = handle.read()
    stripped = text.lstrip()
    if not stripped:
        raise DatasetError(f"{path}: the file is empty")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if isinstance(document, dict):
        return _rows_from_squad_json(document, path)
    return _rows_from_jsonl(text.splitlines(), path)


def validate_rows(rows: Sequence[QARow], source: str) -> list[QARow]:
    """Keep the rows whose every answer sits at its answer_start; report the rest.

    Also rejects duplicate question ids, because the labeled set is a set of ids.
    """
    kept: list[QARow] = []
    misplaced: list[str] = []
    unanswerable: list[str] = []
    seen: set[str] = set()
    for row in rows:
        if row["id"] in seen:
            raise DatasetError(
                f"{source}: question id {row['id']!r} appears twice; ids must be unique"
            )
        seen.add(row["id"])
        texts, starts = row["answers"]["text"], row["answers"]["answer_start"]
        if not texts:
            unanswerable.append(row["id"])
            continue
        context = row["context"]
        if len(texts) != len(starts) or any(
            context[start : start + len(text)] != text for text, start in zip(texts, starts)
        ):
            misplaced.append(row["id"])
            continue
        kept.append(row)
    if misplaced:
        log.warning(
            "%s: dropped %d question(s) whose answer text is not at answer_start (first: %s)",
            source,
            len(misplaced),
            ", ".join(misplaced[:5]),
        )
    if unanswerable:
        log.warning(
            "%s: dropped %d unanswerable question(s) (SQuAD v2 style); alqa scores v1.1 "
            "extractive QA (first: %s)",
            source,
            len(unanswerable),
            ", ".join(unanswerable[:5]),
        )
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


def _hub_rows(hub_name: str, split: str) -> list[QARow]:
    hint = (
        "pass local SQuAD-layout files instead, e.g. "
        "dataset.train_file=../shared/data/qa/squad_v1.1_train.reconstructed.json.gz "
        "dataset.eval_file=../shared/data/qa/squad_v1.1_dev.reconstructed.json.gz"
    )
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        raise DatasetError(
            f"dataset {hub_name!r} needs the Hugging Face hub, which is offline: {hint}"
        )
    try:
        import datasets

        loaded = datasets.load_dataset(hub_name, split=split)
    except Exception as error:  # noqa: BLE001 - any failure here means "hub not reachable"
        raise DatasetError(
            f"could not load {hub_name!r} split {split!r} from the Hugging Face hub "
            f"({type(error).__name__}: {error}); {hint}"
        ) from error
    return [
        {
            "id": str(r["id"]),
            "title": r.get("title", ""),
            "context": r["context"],
            "question": r["question"],
            "answers": {
                "text": list(r["answers"]["text"]),
                "answer_start": [int(s) for s in r["answers"]["answer_start"]],
            },
        }
        for r in loaded
    ]


def load_split(file: str | None, hub_name: str | None, hub_split: str, key: str) -> list[QARow]:
    """Rows from a local file when given, else from the hub; ``key`` names the config key."""
    if file:
        path = Path(file)
        if not path.is_file():
            raise DatasetError(f"{key}={file}: file not found (cwd: {Path.cwd()})")
        return validate_rows(read_qa_file(path), f"{key}={file}")
    if not hub_name:
        raise DatasetError(f"{key} is not set and the dataset config names no hub dataset")
    return validate_rows(_hub_rows(hub_name, hub_split), f"{hub_name}[{hub_split}]")


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
) -> tuple[list[QARow], list[QARow]]:
    """The unlabeled pool (whose gold answers play the oracle) and the evaluation set."""
    pool = load_split(train_file, hub_name, train_split, "dataset.train_file")
    evaluation = load_split(eval_file, hub_name, eval_split, "dataset.eval_file")
    pool = subsample(pool, pool_size, seed, stream=0)
    evaluation = subsample(evaluation, eval_size, seed, stream=1)
    log.info("pool: %d questions, eval: %d questions", len(pool), len(evaluation))
    return pool, evaluation


@dataclass(frozen=True)
class DatasetSource:
    """The ``dataset`` config group as an object (``_target_``): where the pool and the
    evaluation questions come from, and how many of each to keep."""

    name: str
    hub_name: str | None = None
    train_split: str = "train"
    eval_split: str = "validation"
    train_file: str | None = None
    eval_file: str | None = None
    pool_size: int | None = None
    eval_size: int | None = None

    def __post_init__(self) -> None:
        for key in ("pool_size", "eval_size"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise DatasetError(f"dataset.{key} must be a whole number or null, got {value!r}")
            if value is not None and value < 1:
                raise DatasetError(f"dataset.{key} must be at least 1 or null (all), got {value}")

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
        )
