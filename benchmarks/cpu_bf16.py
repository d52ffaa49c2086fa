"""bf16 autocast on a CPU (``train.cpu_bf16=true``): how much faster, and the same spans?

In one process: the model is first trained in fp32 (``--labeled`` random pool questions,
``--steps`` optimizer steps, the model config's recipe otherwise), so its spans mean
something. Then, on the same evaluation windows, fp32 and bf16 passes alternate
``--repeats`` times and the script prints

* the scoring pass (length-sorted, trimmed batches) in windows/s for both, and the speed-up;
* the share of evaluation questions whose best span is the same under bf16 as under fp32
  (the same text from the same context), and both F1s;
* a few training steps from the same weights in fp32 and in bf16: seconds per step.

    python benchmarks/cpu_bf16.py --train-file <train-v1.1.json> --eval-file <dev-v1.1.json>

It needs a CPU with AVX512-BF16 or AMX (``flags`` in /proc/cpuinfo); elsewhere autocast would
be emulated, so the script says so and stops. Without files it uses the embedded sample.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-file", help="default: the embedded SQuAD sample")
    parser.add_argument("--eval-file", help="default: the embedded SQuAD sample")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--pool-size", type=int, default=5000)
    parser.add_argument("--eval-size", type=int, default=300)
    parser.add_argument("--labeled", type=int, default=400, help="questions trained on first")
    parser.add_argument("--steps", type=int, default=150, help="fp32 optimizer steps first")
    parser.add_argument("--timed-steps", type=int, default=8, help="training steps timed")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def build(args):
    from conftest import compose

    from alqa.experiment import build_experiment

    dataset = ["dataset=squad_sample"]
    if args.train_file:
        dataset = ["dataset=squad", f"dataset.train_file={args.train_file}"]
        dataset.append(f"dataset.eval_file={args.eval_file}")
    overrides = [
        *dataset,
        f"model={args.model}",
        "strategy=random",
        "logger=none",
        "train.device=cpu",
        f"seed={args.seed}",
        f"dataset.pool_size={args.pool_size}",
        f"dataset.eval_size={args.eval_size}",
        f"budget.initial={args.labeled}",
        "budget.per_round=1",
        "budget.quota=0",
    ]
    return build_experiment(compose(overrides))


def best_spans(experiment, bf16: bool) -> tuple[list[str], float]:
    """Each evaluation question's best answer text, and the seconds of the pass (with its
    span pooling)."""
    from alqa.evaluation import predicted_answers

    settings = experiment.settings
    started = time.perf_counter()
    answers = predicted_answers(
        experiment.model,
        experiment.eval_features,
        [row["context"] for row in experiment.evaluation],
        batch_size=settings.train.eval_batch_size,
        n_best=settings.scoring.n_best,
        max_answer_length=settings.scoring.max_answer_length,
        device=experiment.device,
        bf16=bf16,
        with_null=experiment.with_null,
        null_threshold=settings.scoring.null_threshold,
        description="bf16" if bf16 else "fp32",
    )
    return answers, time.perf_counter() - started


def f1_of(experiment, answers: list[str]) -> float:
    from alqa.evaluation import answer_scores

    return 100.0 * float(np.mean(answer_scores(experiment.evaluation, answers).f1))


def step_seconds(experiment, rows: np.ndarray, steps: int, cpu_bf16: bool) -> float:
    """Seconds per optimizer step of alqa's training loop, from the current weights (restored
    afterwards, so both precisions start from the same model)."""
    from alqa.training import train_model

    saved = {k: v.clone() for k, v in experiment.model.state_dict().items()}
    train = dataclasses.replace(
        experiment.settings.train, min_steps=steps, epochs=1, cpu_bf16=cpu_bf16
    )
    batch_rows = rows[: steps * train.batch_size]  # exactly `steps` steps of one epoch
    started = time.perf_counter()
    train_model(experiment.model, experiment.pool_features, batch_rows, train, experiment.device, 0)
    seconds = (time.perf_counter() - started) / steps
    experiment.model.load_state_dict(saved)
    return seconds


def main() -> None:
    from alqa.inference import cpu_has_native_bf16
    from alqa.training import train_model

    args = parse_args()
    if not cpu_has_native_bf16():
        raise SystemExit("cpu_bf16: this CPU has neither AVX512-BF16 nor AMX; nothing to measure")
    torch.manual_seed(args.seed)
    experiment = build(args)
    order = np.random.default_rng(args.seed).permutation(len(experiment.pool))
    rows = experiment.pool_features.features_of(order[: args.labeled])
    train = dataclasses.replace(experiment.settings.train, min_steps=args.steps, cpu_bf16=False)
    stats = train_model(
        experiment.model, experiment.pool_features, rows, train, experiment.device, args.seed
    )
    experiment.model.eval()
    windows = experiment.eval_features.num_features
    print(
        f"model={args.model}, trained in fp32 on {args.labeled} questions for "
        f"{stats['train_steps']} steps; {len(experiment.evaluation)} evaluation questions, "
        f"{windows} windows, {torch.get_num_threads()} threads"
    )

    seconds = {False: [], True: []}
    answers = {}
    best_spans(experiment, bf16=False)  # warm-up: first-call allocations and kernels
    for _ in range(args.repeats):
        for bf16 in (False, True):
            answers[bf16], spent = best_spans(experiment, bf16)
            seconds[bf16].append(spent)
    fp32, bf16 = min(seconds[False]), min(seconds[True])
    same = np.mean([a == b for a, b in zip(answers[False], answers[True])])
    print(f"scoring pass  fp32 {windows / fp32:7.1f} windows/s  ({fp32:.2f} s, best of repeats)")
    print(f"scoring pass  bf16 {windows / bf16:7.1f} windows/s  ({bf16:.2f} s)")
    print(f"speed-up bf16 / fp32: {fp32 / bf16:.2f}x")
    f1 = {bf16: f1_of(experiment, answers[bf16]) for bf16 in (False, True)}
    print(
        f"same best span under bf16: {100 * same:.1f}% of {len(answers[False])} questions; "
        f"F1 fp32 {f1[False]:.1f}, bf16 {f1[True]:.1f}"
    )
    train_rows = experiment.pool_features.features_of(order[args.labeled :])
    step_fp32 = step_seconds(experiment, train_rows, args.timed_steps, cpu_bf16=False)
    step_bf16 = step_seconds(experiment, train_rows, args.timed_steps, cpu_bf16=True)
    print(
        f"training step  fp32 {step_fp32:.2f} s, bf16 {step_bf16:.2f} s "
        f"({step_fp32 / step_bf16:.2f}x; {args.timed_steps} steps each)"
    )


if __name__ == "__main__":
    main()
