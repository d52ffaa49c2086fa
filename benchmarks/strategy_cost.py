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
        --train-file ../shared/data/qa/squad_v1.1_train.reconstructed.json.gz \
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


class RecordingCache(dict):
    """A context cache that remembers which precomputed entries a strategy read."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.read: set = set()

    def __contains__(self, key) -> bool:
        if dict.__contains__(self, key):
            self.read.add(key)
            return True
        return False

    def __getitem__(self, key):
        self.read.add(key)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        if dict.__contains__(self, key):
            self.read.add(key)
        return dict.get(self, key, default)


def compose(args, strategy: str):
    from conftest import compose as compose_config

    overrides = [
        f"model={args.model}",
        f"strategy={strategy}",
        f"seed={args.seed}",
        f"train.device={args.device}",
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


def main() -> None:
    from alqa.data import load_split, subsample
    from alqa.features import tokenize_questions
    from alqa.mc_dropout import mc_span_log_probs
    from alqa.modeling import build_model, load_tokenizer
    from alqa.strategies import QueryContext, available_strategies, build_strategy
    from alqa.strategies.base import PoolScorer
    from alqa.training import train_model

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
    args = parser.parse_args()
    names = args.strategies or sorted(available_strategies())
    device = torch.device(args.device)

    cfg = compose(args, "random")
    pool = subsample(
        load_split(args.train_file, None, "train", "--train-file"), args.pool_size, args.seed, 0
    )
    tokenizer = load_tokenizer(cfg.model)
    features = tokenize_questions(pool, tokenizer, int(cfg.model.max_length), int(cfg.model.stride))
    torch.manual_seed(args.seed)
    model = build_model(cfg.model, tokenizer)
    strategies = {name: build_strategy(compose(args, name).strategy) for name in names}
    for strategy in strategies.values():
        strategy.prepare_model(model)  # loss_prediction adds its module (random init)
    model.to(device)
    rng = np.random.default_rng(args.seed)
    labeled = rng.choice(len(pool), size=args.initial, replace=False)
    unlabeled = np.setdiff1d(np.arange(len(pool)), labeled)
    began = time.perf_counter()
    train_model(model, features, features.features_of(labeled), cfg.train, device, args.seed)
    scorer = PoolScorer(
        model,
        features,
        device,
        int(cfg.train.eval_batch_size),
        int(cfg.scoring.n_best),
        int(cfg.scoring.max_answer_length),
        bool(cfg.train.bf16),
    )
    print(
        f"model={args.model} device={device} pool={len(pool)} questions "
        f"({features.num_features} windows), labeled={args.initial} "
        f"(trained in {time.perf_counter() - began:.0f} s), k={args.k}, "
        f"mc_passes={args.mc_passes}",
        flush=True,
    )

    shared = QueryContext(unlabeled, labeled, np.random.default_rng(args.seed), 1, scorer)
    shared.window_outputs(with_embeddings=True)
    shared.spans()
    deterministic_seconds = shared.model_seconds
    print(
        f"shared deterministic pass (logits + [CLS]) over {len(unlabeled)} candidates: "
        f"{deterministic_seconds:.1f} s",
        flush=True,
    )
    mc_seconds = 0.0
    if mc_strategy_names() & set(names):
        mc_span_log_probs(shared, args.mc_passes)
        mc_seconds = shared.model_seconds - deterministic_seconds
        print(
            f"shared MC dropout passes: {args.mc_passes} x {mc_seconds / args.mc_passes:.1f} s "
            f"= {mc_seconds:.1f} s",
            flush=True,
        )
    precomputed = dict(shared._cache)

    print(
        f"\n| strategy | score s | select s | total s | peak RSS MiB | used shared passes |"
        f"{' CUDA peak MiB |' if device.type == 'cuda' else ''}"
    )
    print(f"|---|---:|---:|---:|---:|---|{'---:|' if device.type == 'cuda' else ''}")
    rows = []
    for name, strategy in strategies.items():
        context = QueryContext(unlabeled, labeled, np.random.default_rng(args.seed), 1, scorer)
        context._cache = RecordingCache(precomputed)
        reset_peak_memory(device)
        started = time.perf_counter()
        picked = strategy.query(context, args.k)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        total = time.perf_counter() - started
        assert len(set(np.asarray(picked).tolist())) == args.k
        used = []
        score = context.model_seconds
        used_mc = any(
            isinstance(k, tuple) and k[0] == "mc_span_log_probs" for k in context._cache.read
        )
        deterministic_keys = {("windows", True), ("windows", False), "spans"}
        if used_mc or context._cache.read & deterministic_keys:  # MC passes need the spans
            used.append("deterministic")
            score += deterministic_seconds
        if used_mc:
            used.append(f"{args.mc_passes} MC")
            score += mc_seconds
        select = total - context.model_seconds
        row = {
            "strategy": name,
            "score_seconds": score,
            "select_seconds": select,
            "total_seconds": score + select,
            "peak_rss_mib": memory_mib("VmHWM"),
            "shared_passes": used,
            "cuda_peak_mib": (
                torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
            ),
        }
        rows.append(row)
        cuda = f" {row['cuda_peak_mib']:.0f} |" if row["cuda_peak_mib"] is not None else ""
        print(
            f"| {name} | {score:.1f} | {select:.2f} | {score + select:.1f} | "
            f"{row['peak_rss_mib']:.0f} | {' + '.join(used) or '-'} |{cuda}",
            flush=True,
        )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
