"""Which training recipe lets a model learn from a few hundred labeled questions?

A learning curve can only tell strategies apart if the model learns at every budget. This
study trains the model on random subsets of the pool (random selection, as the random
baseline of an AL run would draw them: nested prefixes of one permutation per seed) at each
labeled size, for every recipe of a small grid, and evaluates on the same evaluation
questions. It prints one row per recipe and size: mean F1/EM over seeds with the standard
deviation, optimizer steps and training seconds; and, per recipe, whether mean F1 rises at
every step of labeled size.

    python benchmarks/recipe_study.py \
        --train-file <train-v1.1.json> --eval-file <dev-v1.1.json> \
        --sizes 100 200 400 800 --seeds 0 1 2 --eval-size 500 \
        --recipe lr=3e-4,min_steps=300,batch=16 --recipe lr=1e-4,min_steps=300,batch=16

A recipe is ``lr=<learning rate>,min_steps=<floor>,batch=<batch size>[,epochs=<n>]``; keys
left out keep the model config's values. ``--json out.json`` also writes every measurement.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

RECIPE_KEYS = {"lr": "learning_rate", "min_steps": "min_steps", "batch": "batch_size"}
RECIPE_KEYS["epochs"] = "epochs"


def parse_recipe(text: str) -> dict[str, float | int]:
    """``lr=3e-4,min_steps=300,batch=16`` -> TrainSettings field values."""
    recipe: dict[str, float | int] = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        if key not in RECIPE_KEYS:
            raise SystemExit(f"recipe key {key!r} unknown; use {', '.join(RECIPE_KEYS)}")
        field = RECIPE_KEYS[key]
        recipe[field] = float(value) if field == "learning_rate" else int(value)
    return recipe


def build(args):
    """The run's own set-up (data, windows, model) for the study's pool and evaluation set."""
    from conftest import compose

    from alqa.experiment import build_experiment

    overrides = [
        f"model={args.model}",
        "strategy=random",
        "logger=none",
        f"seed={args.eval_seed}",
        f"train.device={args.device}",
        f"dataset.train_file={args.train_file}",
        f"dataset.eval_file={args.eval_file}",
        f"dataset.pool_size={args.pool_size}",
        f"dataset.eval_size={args.eval_size}",
        f"budget.initial={max(args.sizes)}",
        "budget.per_round=1",
        "budget.quota=0",
    ]
    return build_experiment(compose(overrides))


def train_and_evaluate(experiment, train_settings, questions: np.ndarray, seed: int) -> dict:
    """One cold-started training on ``questions`` and its evaluation, as a round does it."""
    import torch

    from alqa.rounds import evaluate_round
    from alqa.training import train_model

    experiment.initial_weights.restore(experiment.model)
    torch.manual_seed(seed)
    rows = experiment.pool_features.features_of(questions)
    started = time.perf_counter()
    stats = train_model(
        experiment.model, experiment.pool_features, rows, train_settings, experiment.device, seed
    )
    seconds = time.perf_counter() - started
    metrics, _ = evaluate_round(experiment)
    return {"train_seconds": seconds, **stats, "f1": metrics["f1"], "em": metrics["em"]}


def summarise(measurements: list[dict]) -> list[dict]:
    """Mean and standard deviation over seeds, per recipe and labeled size."""
    rows = []
    keys = sorted({(m["recipe"], m["n_labeled"]) for m in measurements})
    for recipe, size in keys:
        group = [m for m in measurements if m["recipe"] == recipe and m["n_labeled"] == size]
        f1 = np.array([m["f1"] for m in group])
        em = np.array([m["em"] for m in group])
        rows.append(
            {
                "recipe": recipe,
                "n_labeled": size,
                "seeds": len(group),
                "f1_mean": f1.mean(),
                "f1_sd": f1.std(ddof=1) if len(f1) > 1 else float("nan"),
                "em_mean": em.mean(),
                "steps": group[0]["train_steps"],
                "train_seconds": float(np.mean([m["train_seconds"] for m in group])),
            }
        )
    return rows


def print_table(rows: list[dict]) -> None:
    print("| recipe | labeled | seeds | F1 mean ± sd | EM mean | steps | train s |")
    print("|---|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        print(
            f"| {r['recipe']} | {r['n_labeled']} | {r['seeds']} | {r['f1_mean']:.1f} ± "
            f"{r['f1_sd']:.1f} | {r['em_mean']:.1f} | {r['steps']} | {r['train_seconds']:.0f} |"
        )
    print()
    for recipe in dict.fromkeys(r["recipe"] for r in rows):
        curve = [r["f1_mean"] for r in rows if r["recipe"] == recipe]
        rising = all(b > a for a, b in zip(curve, curve[1:]))
        print(f"{recipe}: mean F1 {'rises' if rising else 'does NOT rise'} at every size")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--eval-file", required=True)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--pool-size", type=int, default=5000)
    parser.add_argument("--eval-size", type=int, default=500)
    parser.add_argument("--eval-seed", type=int, default=0, help="seed of the eval subset")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 400, 800])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--recipe", action="append", default=[], help="see the module doc")
    parser.add_argument("--json", type=Path, help="write every measurement here")
    args = parser.parse_args()
    recipes = args.recipe or ["model defaults"]

    experiment = build(args)
    measurements = []
    for seed in args.seeds:
        order = np.random.default_rng(seed).permutation(len(experiment.pool))
        for text in recipes:
            recipe = {} if text == "model defaults" else parse_recipe(text)
            settings = dataclasses.replace(experiment.settings.train, **recipe)
            for size in sorted(args.sizes):
                result = train_and_evaluate(experiment, settings, order[:size], seed)
                result.update(recipe=text, n_labeled=size, seed=seed)
                measurements.append(result)
                print(json.dumps(result), flush=True)
                if args.json:
                    args.json.write_text(json.dumps(measurements, indent=1))
    print()
    print_table(summarise(measurements))


if __name__ == "__main__":
    main()
