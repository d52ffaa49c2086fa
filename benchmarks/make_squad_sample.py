"""Build the SQuAD v1.1 sample that ships in alqa/sample_data/ (``dataset=squad_sample``).

Whole articles, drawn reproducibly (``--seed``) from the official train and dev splits, so the
pool keeps SQuAD's structure (many questions per paragraph, many paragraphs per article) and
the sample never mixes train and dev text. Articles are taken in a seeded random order and
kept while the running question count stays under ``--*-max``, until it reaches
``--*-questions``. The output is gzipped with a zero timestamp, so the same inputs give
byte-identical files::

    python benchmarks/make_squad_sample.py <path to train-v1.1.json[.gz]> \\
        <path to dev-v1.1.json[.gz]> [--out alqa/sample_data]

Prints the articles, paragraphs, questions and compressed size of each file.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "alqa" / "sample_data"
TRAIN_NAME = "squad_v1.1_sample_train.json.gz"
DEV_NAME = "squad_v1.1_sample_dev.json.gz"


def read_squad(path: Path) -> dict:
    """A SQuAD-layout JSON document, gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return json.load(handle)


def questions_in(article: dict) -> int:
    """How many questions an article holds."""
    return sum(len(paragraph["qas"]) for paragraph in article["paragraphs"])


def pick_articles(articles: list[dict], target: int, maximum: int, seed: int) -> list[dict]:
    """Whole articles, in file order, whose questions add up to ``target`` or a little more.

    Seeded random order so the sample spans the whole split (the files are sorted by
    nothing useful, but the first articles are not a fair picture of the rest).
    """
    order = list(range(len(articles)))
    random.Random(seed).shuffle(order)
    chosen: list[int] = []
    total = 0
    for index in order:
        if total >= target:
            break
        size = questions_in(articles[index])
        if total + size <= maximum:
            chosen.append(index)
            total += size
    if total < target:
        raise SystemExit(f"could not reach {target} questions under {maximum}; raise the maximum")
    return [articles[i] for i in sorted(chosen)]


def write_gz(document: dict, path: Path) -> int:
    """Write compact UTF-8 JSON, gzipped without a timestamp (reproducible bytes)."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    path.write_bytes(buffer.getvalue())
    return len(buffer.getvalue())


def build(source: Path, out: Path, target: int, maximum: int, seed: int) -> str:
    """Sample one split into ``out`` and describe what was written."""
    document = read_squad(source)
    articles = pick_articles(document["data"], target, maximum, seed)
    size = write_gz({"version": document.get("version", "1.1"), "data": articles}, out)
    paragraphs = sum(len(article["paragraphs"]) for article in articles)
    questions = sum(questions_in(article) for article in articles)
    return (
        f"{out.name}: {len(articles)} articles, {paragraphs} paragraphs, "
        f"{questions} questions, {size:,} bytes"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("train", type=Path, help="SQuAD v1.1 train JSON (.json or .json.gz)")
    parser.add_argument("dev", type=Path, help="SQuAD v1.1 dev JSON (.json or .json.gz)")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-questions", type=int, default=6000)
    parser.add_argument("--train-max", type=int, default=7000)
    parser.add_argument("--dev-questions", type=int, default=1200)
    parser.add_argument("--dev-max", type=int, default=1600)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    lines = [
        build(args.train, args.out / TRAIN_NAME, args.train_questions, args.train_max, args.seed),
        build(args.dev, args.out / DEV_NAME, args.dev_questions, args.dev_max, args.seed),
    ]
    total = sum((args.out / name).stat().st_size for name in (TRAIN_NAME, DEV_NAME))
    print("\n".join(lines) + f"\ntotal: {total:,} bytes")


if __name__ == "__main__":
    main()
