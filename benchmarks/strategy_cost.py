"""Cost of every query strategy: seconds of scoring + selection and peak memory, per round.

A model is trained once on an initial labeled set (as round 0 of a real run would), then
each strategy picks one batch from the same unlabeled pool in a fresh process, so its peak
memory is its own. Prints one row per strategy: model-pass seconds (score), strategy seconds
(select), peak RSS of the process and the increase during the query, and CUDA peak memory.

    python benchmarks/strategy_cost.py \
        --train-file ../shared/data/qa/squad_v1.1_train.reconstructed.json.gz \
        --pool-size 2000 --initial 200 --k 100 [--strategies margin bald ...] [--mc-passes 10]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))


def compose(args, strategy: str = "random"):
    from conftest import compose as compose_config

    overrides = [
        f"model={args.model}",
        f"strategy={strategy}",
        f"dataset.train_file={args.train_file}",
        f"dataset.pool_size={args.pool_size}",
        f"seed={args.seed}",
        f"train.device={args.device}",
    ]
    if args.epochs:
        overrides.append(f"train.epochs={args.epochs}")
    if strategy.endswith("_dropout") or strategy in {"bald", "var_ratio", "mean_std"}:
        overrides.append(f"strategy.mc_passes={args.mc_passes}")
    return compose_config(overrides)


def prepare(args, cfg):
    from alqa.data import load_split, subsample
    from alqa.features import tokenize_questions
    from alqa.modeling import build_model, load_tokenizer

    pool = subsample(
        load_split(args.train_file, None, "train", "--train-file"), args.pool_size, args.seed, 0
    )
    tokenizer = load_tokenizer(cfg.model)
    features = tokenize_questions(pool, tokenizer, int(cfg.model.max_length), int(cfg.model.stride))
    torch.manual_seed(args.seed)
    model = build_model(cfg.model, tokenizer)
    return pool, features, model


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(args) -> None:
    from alqa.strategies import QueryContext, build_strategy
    from alqa.strategies.base import PoolScorer

    cfg = compose(args, args.worker)
    strategy = build_strategy(cfg.strategy)
    pool, features, model = prepare(args, cfg)
    strategy.prepare_model(model)
    state = torch.load(args.weights, map_location="cpu")
    model.load_state_dict(state, strict=False)
    device = torch.device(args.device)
    model.to(device).eval()
    rng = np.random.default_rng(args.seed)
    labeled = rng.choice(len(pool), size=args.initial, replace=False)
    unlabeled = np.setdiff1d(np.arange(len(pool)), labeled)
    scorer = PoolScorer(
        model,
        features,
        device,
        int(cfg.train.eval_batch_size),
        int(cfg.scoring.n_best),
        int(cfg.scoring.max_answer_length),
        bool(cfg.train.bf16),
    )
    context = QueryContext(unlabeled, labeled, rng, 1, scorer)
    before = rss_mib()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
    began = time.perf_counter()
    picked = strategy.query(context, args.k)
    if device.type == "cuda":
        torch.cuda.synchronize()
    total = time.perf_counter() - began
    print(
        json.dumps(
            {
                "strategy": args.worker,
                "score_seconds": context.model_seconds,
                "select_seconds": total - context.model_seconds,
                "peak_rss_mib": rss_mib(),
                "rss_increase_mib": rss_mib() - before,
                "cuda_peak_mib": torch.cuda.max_memory_allocated() / 2**20
                if device.type == "cuda"
                else None,
                "picked": len(set(np.asarray(picked).tolist())),
            }
        )
    )


def main() -> None:
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
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help="also write the rows to this JSON file")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    from alqa.strategies import available_strategies
    from alqa.training import train_model

    names = args.strategies or sorted(available_strategies())
    cfg = compose(args)
    pool, features, model = prepare(args, cfg)
    labeled = np.random.default_rng(args.seed).choice(len(pool), size=args.initial, replace=False)
    device = torch.device(args.device)
    began = time.perf_counter()
    train_model(
        model.to(device), features, features.features_of(labeled), cfg.train, device, args.seed
    )
    print(
        f"trained on {args.initial} questions in {time.perf_counter() - began:.1f} s; "
        f"pool {len(pool)} questions / {features.num_features} windows; k={args.k}; "
        f"mc_passes={args.mc_passes}; device={device}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        weights = Path(folder) / "model.pt"
        torch.save(model.state_dict(), weights)
        for name in names:
            command = [
                sys.executable,
                __file__,
                *sys.argv[1:],
                "--worker",
                name,
                "--weights",
                str(weights),
            ]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{name}: FAILED\n{done.stderr[-2000:]}")
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(
                f"{name:26s} score {row['score_seconds']:8.1f} s  select "
                f"{row['select_seconds']:7.2f} s  peak RSS {row['peak_rss_mib']:7.0f} MiB "
                f"(+{row['rss_increase_mib']:.0f} during query)"
                + (f"  CUDA peak {row['cuda_peak_mib']:.0f} MiB" if row["cuda_peak_mib"] else ""),
                flush=True,
            )
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
