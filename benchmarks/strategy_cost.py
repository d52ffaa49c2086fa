"""Cost of every query strategy per round: seconds of scoring + selection, and peak memory.

A model is trained once on an initial labeled set (as round 0 of a real run would). The model
passes that several strategies share in a real round are measured once: the deterministic
pass over the candidates' windows (logits + [CLS] embeddings, pooled spans) and the T
Monte-Carlo dropout passes. Then each strategy picks one batch from a fresh context that holds
those shared results; its own passes (labeled-set embeddings, BADGE's gradient pass, the
loss-prediction pass) and its selection are timed, and the shared passes it used are added to
its scoring time. Peak memory is the process's peak RSS during the strategy's query (reset
before each strategy via /proc/self/clear_refs), and the CUDA peak on a GPU.

    python benchmarks/strategy_cost.py \
        --train-file <path to train-v1.1.json> \
        --pool-size 2000 --initial 200 --k 100 --mc-passes 10 [--strategies margin bald ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))


def mc_strategy_names() -> set[str]:
    """Names of the strategies that take ``strategy.mc_passes``."""
    from alqa.strategies import available_strategies
    from alqa.strategies.bayesian import MCDropoutStrategy

    return {n for n, c in available_strategies().items() if issubclass(c, MCDropoutStrategy)}


def compose(args, strategy: str):
    """The config a run of this strategy would have, on the benchmark's data and budget."""
    from conftest import compose as compose_config

    overrides = [
        f"model={args.model}",
        f"strategy={strategy}",
        f"seed={args.seed}",
        f"train.device={args.device}",
        "logger=none",
        f"dataset.train_file={args.train_file}",
        f"dataset.eval_file={args.train_file}",  # evaluation is not measured here
        f"dataset.pool_size={args.pool_size}",
        "dataset.eval_size=8",
        f"budget.initial={args.initial}",
        f"budget.per_round={args.k}",
        f"budget.quota={args.k}",
    ]
    if args.epochs:
        overrides.append(f"train.epochs={args.epochs}")
    if strategy in mc_strategy_names():
        overrides.append(f"strategy.mc_passes={args.mc_passes}")
    return compose_config(overrides)


def memory_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak_memory(device: torch.device) -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--pool-size", type=int, default=2000)
    parser.add_argument("--initial", type=int, default=200)
    parser.add_argument("--k", type=int, default=100)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--epochs", type=int, default=0, help="0 = the model's default")
    parser.add_argument("--mc-passes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--strategies", nargs="*", default=None)
    parser.add_argument("--json-out", help="also write the rows to this JSON file")
    return parser.parse_args()


def trained_experiment(args):
    """The run's own set-up and round-0 training (random initial set), every strategy's
    modules attached (loss_prediction trains its module with the model)."""
    from alqa.experiment import build_experiment
    from alqa.loop import initial_state
    from alqa.modeling import InitialWeights
    from alqa.rounds import train_round
    from alqa.strategies import available_strategies, build_strategy

    names = args.strategies or sorted(available_strategies())
    experiment = build_experiment(compose(args, "random"))
    strategies = {name: build_strategy(compose(args, name).strategy) for name in names}
    for strategy in strategies.values():
        strategy.prepare_model(experiment.model)
    experiment.model.to(experiment.device)
    experiment.initial_weights = InitialWeights(experiment.model)  # with the added modules
    rng = np.random.default_rng(args.seed)
    pending = initial_state(experiment, {}, rng).pending
    labeled = experiment.indices_of(pending.selected_ids)
    _, seconds = train_round(experiment, labeled, pending, args.seed)
    return experiment, strategies, labeled, seconds


def shared_passes(args, experiment, unlabeled, labeled, names):
    """The passes several strategies share, run once: their results and their seconds."""
    from alqa.mc_dropout import mc_span_log_probs
    from alqa.query import round_scorer

    scorer = round_scorer(experiment, unlabeled)
    scorer.window_outputs(with_embeddings=True)
    scorer.spans()
    deterministic = scorer.model_seconds
    print(f"deterministic pass over {len(unlabeled)} candidates: {deterministic:.1f} s", flush=True)
    if mc_strategy_names() & set(names):
        mc_span_log_probs(scorer, np.random.default_rng(args.seed), args.mc_passes)
        mc = scorer.model_seconds - deterministic
        print(f"{args.mc_passes} MC dropout passes: {mc:.1f} s", flush=True)
    return dict(scorer.memory), deterministic, scorer.model_seconds - deterministic


def measure(args, experiment, strategy, unlabeled, labeled, shared) -> dict:
    """One strategy's batch from a scorer that already holds the shared passes."""
    from alqa.query import round_scorer
    from alqa.strategies import QueryContext

    memory, deterministic_seconds, mc_seconds = shared
    scorer = round_scorer(experiment, unlabeled, memory=memory)
    context = QueryContext(unlabeled, labeled, np.random.default_rng(args.seed), 1, scorer)
    reset_peak_memory(experiment.device)
    started = time.perf_counter()
    picked = strategy.query(context, args.k)
    if experiment.device.type == "cuda":
        torch.cuda.synchronize(experiment.device)
    total = time.perf_counter() - started
    assert len(set(np.asarray(picked).tolist())) == args.k
    used_mc = any(isinstance(k, tuple) and k[0] == "mc_span_log_probs" for k in scorer.reused)
    deterministic_keys = {("windows", True), ("windows", False), "spans"}
    used, score = [], scorer.model_seconds
    if used_mc or scorer.reused & deterministic_keys:  # MC passes need the spans
        used.append("deterministic")
        score += deterministic_seconds
    if used_mc:
        used.append(f"{args.mc_passes} MC")
        score += mc_seconds
    select = total - scorer.model_seconds
    cuda = experiment.device.type == "cuda"
    return {
        "strategy": strategy.name,
        "score_seconds": score,
        "select_seconds": select,
        "total_seconds": score + select,
        "peak_rss_mib": memory_mib("VmHWM"),
        "shared_passes": used,
        "cuda_peak_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
    }


def main() -> None:
    args = parse_args()
    experiment, strategies, labeled, train_seconds = trained_experiment(args)
    pool_size, features = len(experiment.pool), experiment.pool_features
    unlabeled = np.setdiff1d(np.arange(pool_size), labeled)
    print(
        f"model={args.model} device={experiment.device} pool={pool_size} questions "
        f"({features.num_features} windows), labeled={len(labeled)} "
        f"(trained in {train_seconds:.0f} s), k={args.k}, mc_passes={args.mc_passes}",
        flush=True,
    )
    shared = shared_passes(args, experiment, unlabeled, labeled, list(strategies))
    cuda = experiment.device.type == "cuda"
    print(
        "\n| strategy | score s | select s | total s | peak RSS MiB | used shared passes |"
        f"{' CUDA peak MiB |' if cuda else ''}"
    )
    print(f"|---|---:|---:|---:|---:|---|{'---:|' if cuda else ''}")
    rows = []
    for strategy in strategies.values():
        row = measure(args, experiment, strategy, unlabeled, labeled, shared)
        rows.append(row)
        peak = f" {row['cuda_peak_mib']:.0f} |" if cuda else ""
        print(
            f"| {row['strategy']} | {row['score_seconds']:.1f} | {row['select_seconds']:.2f} | "
            f"{row['total_seconds']:.1f} | {row['peak_rss_mib']:.0f} | "
            f"{' + '.join(row['shared_passes']) or '-'} |{peak}",
            flush=True,
        )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
