"""What a round costs against the hardware's limit, and what a full SQuAD-scale run would cost.

In one process, on the same length-sorted windows of one pool:

* a bare ``model(**batch)`` loop (no grad, trimmed batches): windows/s, tokens/s and, with a
  known peak, MFU; FLOPs are counted as 2 × non-embedding parameters per token plus
  4 × layers × L × hidden per token for attention (QKᵀ and AV), over the padded batch;
* every alqa pass as a ratio to that loop: scoring with pooled spans, one MC-dropout pass,
  an MC-dropout pass when 4 passes share each batch (``strategy.mc_batch_passes=4``), BADGE's
  scoring pass with gradient embeddings, the loss-prediction pass, evaluation (1.00 =
  at the bare limit);
* one training epoch of alqa's loop against a bare training loop over length-sorted batches
  (the limit) and against a naive one (random order, windows padded to ``max_length``); on
  CUDA also through ``torch.compile`` (``train.compile``), its first epoch and its second;
* peak memory (CUDA allocator peak, or the process's peak RSS);
* a projected table for a full run: the SQuAD v1.1 train pool (87,599 questions), 10 rounds,
  per strategy family, from the measured seconds per window.

    python benchmarks/round_costs.py --device cuda --model minilm --pool 20000
    python benchmarks/round_costs.py --device cpu --model tiny --pool 200     # CI smoke, < 2 min

Without ``--train-file`` the pool is the embedded SQuAD sample.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))

#: dense bf16 peak FLOP/s of accelerators we know (tensor cores, no sparsity)
KNOWN_PEAKS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 125e12}
SQUAD_TRAIN_QUESTIONS = 87_599
FULL_RUN_ROUNDS = 10


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--pool", type=int, default=2000, help="pool questions to measure on")
    parser.add_argument("--train-file", help="default: the embedded SQuAD sample")
    parser.add_argument("--batch-size", type=int, default=64, help="scoring batch size")
    parser.add_argument(
        "--peak-tflops",
        help="peak FLOP/s for MFU, in TFLOP/s, or 'measure': a large bf16 matrix product's rate "
        "on this GPU (default: the datasheet's dense bf16 peak for known GPUs)",
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        help="a further Hydra override, e.g. model.name_or_path=<folder> (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def build(args):
    from conftest import compose

    from alqa.experiment import build_experiment

    overrides = [
        f"model={args.model}",
        "strategy=loss_prediction",  # attaches its module, so its pass can be measured
        "logger=none",
        f"train.device={args.device}",
        f"train.eval_batch_size={args.batch_size}",
        f"dataset.pool_size={args.pool}",
        "dataset.eval_size=8",
        "budget.initial=1",
        "budget.per_round=1",
        "budget.quota=1",
    ]
    if args.train_file:
        overrides += [f"dataset.train_file={args.train_file}"]
    return build_experiment(compose(overrides + args.override))


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clock(device: torch.device, fn) -> tuple[object, float]:
    synchronize(device)
    started = time.perf_counter()
    result = fn()
    synchronize(device)
    return result, time.perf_counter() - started


def forward_flops(model: torch.nn.Module, batch_tokens: int, length: int) -> float:
    """Forward FLOPs of one batch of ``batch_tokens`` (padded) tokens of length ``length``."""
    config = model.config
    embedding = sum(p.numel() for n, p in model.named_parameters() if "embeddings" in n)
    dense = sum(p.numel() for p in model.parameters()) - embedding
    attention = 4 * config.num_hidden_layers * length * config.hidden_size
    return batch_tokens * (2 * dense + attention)


def length_sorted_batches(features, rows: np.ndarray, batch_size: int) -> list[np.ndarray]:
    order = np.argsort(-features.lengths[torch.as_tensor(rows)].numpy(), kind="stable")
    return [rows[order[i : i + batch_size]] for i in range(0, len(rows), batch_size)]


def bare_inference(experiment, rows: np.ndarray, batch_size: int) -> dict:
    """The reference: a plain no-grad loop over length-sorted, trimmed batches."""
    from alqa.inference import autocast_context, batch_inputs

    model, device, features = experiment.model, experiment.device, experiment.pool_features
    batches = length_sorted_batches(features, rows, batch_size)
    flops = tokens = 0.0

    def loop():
        nonlocal flops, tokens
        with torch.no_grad():
            for batch in batches:
                inputs = batch_inputs(features, batch, device)
                with autocast_context(device, experiment.settings.train.autocast_bf16(device)):
                    model(**inputs)
                length = inputs["input_ids"].shape[1]
                tokens += int(features.lengths[torch.as_tensor(batch)].sum())
                flops += forward_flops(model, len(batch) * length, length)

    model.eval()
    _, seconds = clock(device, loop)
    return {"seconds": seconds, "tokens": tokens, "flops": flops, "windows": len(rows)}


def alqa_passes(experiment, rows: np.ndarray) -> dict[str, float]:
    """Seconds of each alqa pass over the whole pool as candidates."""
    from alqa.embeddings import gradient_embeddings
    from alqa.mc_dropout import mc_span_log_probs
    from alqa.query import round_scorer
    from alqa.rounds import evaluate_round
    from alqa.strategies.training_coupled import LossPrediction

    device = experiment.device
    candidates = np.arange(len(experiment.pool))
    scorer = round_scorer(experiment, candidates)
    seconds = {"scoring with spans": clock(device, scorer.spans)[1]}
    rng = np.random.default_rng(0)
    seconds["one MC-dropout pass"] = clock(device, lambda: mc_span_log_probs(scorer, rng, 1))[1]
    batched = clock(device, lambda: mc_span_log_probs(scorer, rng, 4, passes_per_batch=4))[1]
    seconds["MC-dropout pass, 4 passes per batch (per pass)"] = batched / 4
    badge_round = round_scorer(experiment, candidates)  # its own round: spans + gradients
    seconds["BADGE scoring with gradients"] = clock(
        device, lambda: (gradient_embeddings(badge_round), badge_round.spans())
    )[1]
    seconds["loss-prediction pass"] = clock(device, lambda: LossPrediction.window_losses(scorer))[1]
    on_pool = dataclasses.replace(
        experiment, evaluation=experiment.pool, eval_features=experiment.pool_features
    )
    seconds["evaluation"] = evaluate_round(on_pool)[1]  # evaluate the same windows
    return seconds


def bare_training(experiment, rows: np.ndarray, padded_random: bool) -> float:
    """One epoch of a plain loop: AdamW steps over length-sorted trimmed batches (the limit),
    or over random batches padded to max_length (what a naive loop does)."""
    from alqa.inference import autocast_context, batch_inputs, to_device
    from alqa.training import make_optimizer, qa_loss_per_window

    model, device, features = experiment.model, experiment.device, experiment.pool_features
    train = experiment.settings.train
    experiment.initial_weights.restore(model)
    if padded_random:
        order = np.random.default_rng(0).permutation(rows)
        batches = [order[i : i + train.batch_size] for i in range(0, len(rows), train.batch_size)]
    else:
        batches = length_sorted_batches(features, rows, train.batch_size)
    # alqa's own optimizer (fused AdamW on CUDA) and schedule, so only the loop differs
    optimizer, scheduler = make_optimizer(list(model.parameters()), train, len(batches), device)

    def loop():
        model.train()
        for batch in batches:
            index = torch.as_tensor(batch)
            inputs = batch_inputs(features, batch, device)
            if padded_random:
                inputs = {
                    "input_ids": to_device(features.input_ids[index].long(), device),
                    "attention_mask": to_device(features.attention_mask[index].long(), device),
                }
            with autocast_context(device, train.autocast_bf16(device)):
                output = model(**inputs)
                loss = qa_loss_per_window(
                    output,
                    to_device(features.start_positions[index], device),
                    to_device(features.end_positions[index], device),
                ).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        model.eval()

    return clock(device, loop)[1]


def alqa_training(experiment, rows: np.ndarray, model: torch.nn.Module | None = None) -> float:
    """One epoch of alqa's training loop, through ``model`` (default: the experiment's own)."""
    from alqa.training import train_model

    experiment.initial_weights.restore(experiment.model)
    settings = dataclasses.replace(experiment.settings.train, epochs=1, min_steps=0)
    return clock(
        experiment.device,
        lambda: train_model(
            experiment.model if model is None else model,  # bool() of a compiled module raises
            experiment.pool_features,
            rows,
            settings,
            experiment.device,
            0,
        ),
    )[1]


def compiled_training(experiment, rows: np.ndarray, eager: float) -> None:
    """``train.compile``'s effect: two epochs through torch.compile (the first compiles)."""
    compiled = torch.compile(experiment.model, dynamic=True)  # as Experiment.training_model
    try:
        first = alqa_training(experiment, rows, compiled)
        second = alqa_training(experiment, rows, compiled)
    except Exception as error:  # noqa: BLE001 - report it; the other numbers still stand
        print(f"  train.compile failed: {type(error).__name__}: {str(error)[:300]}")
        return
    print(
        f"  train.compile: first epoch {first:.2f} s (compiling), second {second:.2f} s "
        f"(eager / compiled = {eager / second:.2f})"
    )


def peak_memory_mib(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB (CUDA allocator)"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (peak RSS)"


def measured_matmul_flops(device: torch.device, size: int = 8192, repeats: int = 10) -> float:
    """A bf16 matrix product's FLOP/s on random data: the ceiling this GPU reaches in practice."""
    a, b = (torch.randn(size, size, device=device, dtype=torch.bfloat16) for _ in range(2))
    out = torch.empty_like(a)

    def products():  # into one buffer: no allocations timed, no outputs held
        for _ in range(repeats):
            torch.matmul(a, b, out=out)

    products()
    return 2 * size**3 * repeats / clock(device, products)[1]


def peak_flops(args, device: torch.device) -> float | None:
    if args.peak_tflops == "measure":
        if device.type != "cuda":
            sys.exit("--peak-tflops measure needs --device cuda")
        peak = measured_matmul_flops(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)  # the peak reported later is alqa's
        print(f"measured peak: an 8192^3 bf16 matrix product runs at {peak / 1e12:.0f} TFLOP/s")
        return peak
    if args.peak_tflops:
        return float(args.peak_tflops) * 1e12
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        return next((peak for key, peak in KNOWN_PEAKS.items() if key in name), None)
    return None


def projection(per_window: dict[str, float], train_epoch_per_window: float, windows_per_q, recipe):
    """Seconds per 10-round run, full SQuAD train pool, per strategy family."""
    pool_windows = SQUAD_TRAIN_QUESTIONS * windows_per_q
    eval_windows = 2000 * windows_per_q
    labeled = np.linspace(200, 2000, FULL_RUN_ROUNDS)  # the showcase's budget
    # each round trains max(epochs, min_steps of batch_size) over the labeled windows
    floor = recipe.min_steps * recipe.batch_size
    train = sum(
        max(recipe.epochs * n * windows_per_q, floor) * train_epoch_per_window for n in labeled
    )
    base = train + FULL_RUN_ROUNDS * eval_windows * per_window["evaluation"]
    score = pool_windows * per_window["scoring with spans"]
    mc = pool_windows * per_window["one MC-dropout pass"]
    mc_batched = pool_windows * per_window["MC-dropout pass, 4 passes per batch (per pass)"]
    families = {
        "random": 0.0,
        "margin / entropy / least_confidence": score,
        "MC dropout, T=10": score + 10 * mc,
        "MC dropout, T=10, mc_batch_passes=4": score + 10 * mc_batched,
        "MC dropout, T=10, mc_candidates=2000": score + 10 * mc * 2000 / SQUAD_TRAIN_QUESTIONS,
        "badge": pool_windows * per_window["BADGE scoring with gradients"],
        "kcenter / kmeans (embeddings only)": score,
        "loss_prediction": pool_windows * per_window["loss-prediction pass"],
    }
    return {name: base + FULL_RUN_ROUNDS * extra for name, extra in families.items()}


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    experiment = build(args)
    device, features = experiment.device, experiment.pool_features
    rows = np.arange(features.num_features)
    windows_per_q = features.num_features / len(experiment.pool)
    mean_length = float(features.lengths.float().mean())
    from alqa.inference import bf16_hardware

    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    bf16 = experiment.settings.train.autocast_bf16(device) and bf16_hardware(device)
    print(
        f"model={args.model} device={device} ({hardware}) "
        f"pool={len(experiment.pool)} questions, {len(rows)} windows "
        f"(mean {mean_length:.0f} real tokens), batch {args.batch_size}, "
        f"bf16 {'on' if bf16 else 'off'}"
    )
    bare_inference(experiment, rows[: min(len(rows), 4 * args.batch_size)], args.batch_size)
    bare = bare_inference(experiment, rows, args.batch_size)
    peak = peak_flops(args, device)
    mfu = f"{100 * bare['flops'] / bare['seconds'] / peak:.1f}%" if peak else "n/a (--peak-tflops)"
    print(
        f"\nbare forward loop: {bare['windows'] / bare['seconds']:.0f} windows/s, "
        f"{bare['tokens'] / bare['seconds']:.0f} real tokens/s, "
        f"{bare['flops'] / bare['seconds'] / 1e12:.2f} TFLOP/s, MFU {mfu} "
        "(FLOPs: 2 x non-embedding params + 4 x layers x L x hidden, per padded token)"
    )
    passes = alqa_passes(experiment, rows)
    print("\n| alqa pass over the same windows | seconds | ratio to the bare loop |")
    print("|---|--:|--:|")
    print(f"| bare forward loop | {bare['seconds']:.2f} | 1.00 |")
    for name, seconds in passes.items():
        print(f"| {name} | {seconds:.2f} | {seconds / bare['seconds']:.2f} |")

    train_rows = rows[: min(len(rows), 64 * experiment.settings.train.batch_size)]
    bare_training(experiment, train_rows[: 4 * experiment.settings.train.batch_size], False)
    limit = bare_training(experiment, train_rows, padded_random=False)  # after a warm-up
    naive = bare_training(experiment, train_rows, padded_random=True)
    ours = alqa_training(experiment, train_rows)
    print(f"\ntraining epoch over {len(train_rows)} windows: alqa {ours:.2f} s")
    print(f"  bare length-sorted loop {limit:.2f} s (alqa / bare = {ours / limit:.2f})")
    print(f"  naive random padded loop {naive:.2f} s (naive / alqa = {naive / ours:.2f})")
    print(f"peak memory: {peak_memory_mib(device)}")

    per_window = {name: s / len(rows) for name, s in passes.items()}
    recipe = experiment.settings.train
    projected = projection(per_window, ours / len(train_rows), windows_per_q, recipe)
    print(
        f"\nprojected full run on this device: SQuAD v1.1 train pool ({SQUAD_TRAIN_QUESTIONS:,} "
        f"questions, ~{SQUAD_TRAIN_QUESTIONS * windows_per_q:,.0f} windows), 2,000 eval "
        f"questions, {FULL_RUN_ROUNDS} rounds of 200 (200..2,000 labels), {recipe.epochs} epochs "
        f"and at least {recipe.min_steps} steps of {recipe.batch_size} per round:"
    )
    print("| strategy family | hours per run |")
    print("|---|--:|")
    for name, seconds in projected.items():
        print(f"| {name} | {seconds / 3600:.2f} |")
    if device.type == "cuda":  # last: compiling may take a minute. On a CPU, inductor needs a
        print()  # C++ toolchain and minutes
        compiled_training(experiment, train_rows, ours)


if __name__ == "__main__":
    main()
