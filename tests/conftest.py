"""Shared fixtures: tiny SQuAD-layout data written by the tests themselves."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
WORDS = (
    "river castle engine harbor meadow violin planet lantern copper forest garden bridge "
    "island museum thunder pepper canyon marble glacier orchard falcon velvet compass"
).split()
NAMES = ["Alice", "Bruno", "Chandra", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas"]
CITIES = ["Lisbon", "Nairobi", "Osaka", "Quito", "Tallinn", "Hanoi", "Perth", "Bergen"]


def make_squad(num_paragraphs: int, seed: int, long_context: bool = False) -> dict:
    """Synthetic SQuAD v1.1 JSON: every answer is really at its answer_start."""
    rng = random.Random(seed)
    data = []
    for p in range(num_paragraphs):
        name, city = rng.choice(NAMES), rng.choice(CITIES)
        year = str(rng.randint(1800, 2020))
        filler = " ".join(
            rng.choice(WORDS) for _ in range(rng.randint(5, 15 if not long_context else 120))
        )
        topic = rng.choice(WORDS)
        context = (
            f"{name} was born in {city} in {year}. {filler.capitalize()}. "
            f"{name} studied the {topic}."
        )
        qas = []
        for q, (question, answer) in enumerate(
            [
                (f"Where was {name} born?", city),
                (f"When was {name} born?", year),
                (f"Who studied the {topic}?", name),
            ]
        ):
            start = context.index(answer)
            qas.append(
                {
                    "id": f"p{p}_q{q}",
                    "question": question,
                    "answers": [{"text": answer, "answer_start": start}],
                }
            )
        data.append(
            {"title": f"article_{p // 3}", "paragraphs": [{"context": context, "qas": qas}]}
        )
    return {"version": "1.1", "data": data}


@pytest.fixture(scope="session", autouse=True)
def one_thread_per_worker():
    """Under pytest-xdist (`make test` runs one worker per core) every worker and the runs it
    starts use one thread: tiny models gain nothing from more, and more oversubscribe the cores."""
    import os

    if "PYTEST_XDIST_WORKER" in os.environ:
        import torch

        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Runs started by the tests (in-process or as subprocesses) cache tokenised windows in a
    folder of this test session, never in the user's cache."""
    import os

    folder = tmp_path_factory.mktemp("cache")
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    """A 60-question pool and a 15-question eval set, as SQuAD JSON files."""
    folder = tmp_path_factory.mktemp("data")
    train, dev = folder / "train.json", folder / "dev.json"
    train.write_text(json.dumps(make_squad(20, seed=1, long_context=True)))
    dev.write_text(json.dumps(make_squad(5, seed=2)))
    return {"train": train, "eval": dev}


def compose(overrides: list[str]):
    """The composed alqa config for these overrides (as `python main.py <overrides>` sees it)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        return hydra_compose(config_name="config", overrides=overrides)


def tiny_overrides(data: dict[str, Path], *extra: str) -> list[str]:
    """A 3-round run of the random-weight tiny model on the tiny data, no logger."""
    return [
        "model=tiny",
        "logger=none",
        f"dataset.train_file={data['train']}",
        f"dataset.eval_file={data['eval']}",
        "budget.initial=10",
        "budget.per_round=5",
        "budget.quota=10",
        *extra,
    ]


def run_tiny(data: dict[str, Path], run_dir: Path, *extra: str, logger=None) -> dict:
    """Run the AL loop in-process (no subprocess start-up cost) and return results.json."""
    from alqa.loop import ActiveLearningRun

    cfg = compose(tiny_overrides(data, *extra))
    return ActiveLearningRun(cfg, run_dir, logger).run()


def tiny_scorer(data: dict[str, Path], batch_size: int, n_best: int):
    """A random-weight tiny BERT (seed 0, eval mode), the tokenised tiny pool, and a factory of
    PoolScorers over it: ``make_scorer(candidates)`` (a scorer is one round's, with its memo)."""
    import torch
    from omegaconf import OmegaConf

    from alqa.data import read_qa_file
    from alqa.features import tokenize_questions
    from alqa.modeling import build_model, load_tokenizer
    from alqa.pool_scoring import PoolScorer

    model_cfg = OmegaConf.load(REPO_ROOT / "conf" / "model" / "tiny.yaml")
    tokenizer = load_tokenizer(model_cfg)
    torch.manual_seed(0)
    model = build_model(model_cfg, tokenizer).eval()
    rows = read_qa_file(data["train"])
    features = tokenize_questions(rows, tokenizer, model_cfg.max_length, model_cfg.stride)

    def make_scorer(candidates) -> PoolScorer:
        return PoolScorer(
            model, features, candidates, batch_size=batch_size, n_best=n_best, bf16=False
        )

    return model, features, make_scorer


def hand_context(candidates, memory: dict, labeled=(), seed: int = 0, round_number: int = 1):
    """A model-free query round whose scorer already holds hand-built values (spans, passes,
    embeddings...) under the keys the strategies ask for."""
    import numpy as np

    from alqa.pool_scoring import PoolScorer
    from alqa.strategies import QueryContext

    candidates = np.asarray(candidates, dtype=np.int64)
    return QueryContext(
        candidates=candidates,
        labeled=np.asarray(labeled, dtype=np.int64),
        rng=np.random.default_rng(seed),
        round=round_number,
        scorer=PoolScorer(None, None, candidates, memory=memory),
    )


class SimulatedKill(BaseException):
    """Stands for SIGKILL in-process: not an Exception, so nothing in alqa handles it."""


def kill_after_round(monkeypatch, round_number: int) -> None:
    """Stop the run right after round ``round_number``'s state and results are on disk.

    Patches the loop's results writer from outside the package (no test hook in alqa): the
    files are written first, then the "kill" lands, as if the process died at that moment.
    """
    import alqa.loop

    write = alqa.loop.write_results

    def write_then_die(run_dir, results):
        write(run_dir, results)
        if len(results["rounds"]) == round_number + 1:
            raise SimulatedKill(f"killed after round {round_number}")

    monkeypatch.setattr(alqa.loop, "write_results", write_then_die)
