"""Span scoring of a SQuAD-sized pool: alqa's vectorised torch code vs a per-feature loop.

The reference is the loop found in QA active-learning notebooks (after HF utils_qa): for each
window, argsort the start and end logits, nested loops over the n-best pairs, then per question
a softmax over its best candidates. Both run on the same synthetic logits in the same process;
the script prints both times, the ratio, and checks that both pick the same best spans.
It then adds one long document (``--long-document`` windows, one question) to the pool and
prints the time against the pool without it: pooling pads questions to the longest, so a
ratio far above 1 means one long context costs every question.

    python benchmarks/span_scoring.py [--windows 10000] [--long-document 150] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from alqa.span_scoring import question_spans


def synthetic_pool(num_windows: int, length: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    start = torch.randn(num_windows, length, generator=generator) * 3
    end = torch.randn(num_windows, length, generator=generator) * 3
    question_tokens = 16
    offsets = torch.full((num_windows, length, 2), -1, dtype=torch.long)
    positions = torch.arange(question_tokens, length - 1)
    offsets[:, question_tokens : length - 1, 0] = positions * 5
    offsets[:, question_tokens : length - 1, 1] = positions * 5 + 4
    # about 1.1 windows per question, as SQuAD with 384/128 windows
    rng = np.random.default_rng(seed)
    second_window = rng.random(num_windows) < 0.1
    example_index = np.cumsum(~second_window) - 1
    # a question's second window starts 200 tokens later: the windows overlap, as with stride
    shift = torch.from_numpy(second_window)[:, None, None] * 200 * 5
    offsets = torch.where(offsets >= 0, offsets + shift, offsets)
    return start, end, offsets, torch.from_numpy(example_index), int(example_index[-1]) + 1


def with_long_document(start, end, offsets, example_index, num_examples, windows: int):
    """The pool plus one more question spread over ``windows`` copies of its first window."""
    extra = torch.zeros(windows, dtype=torch.long)
    return (
        torch.cat([start, start[extra]]),
        torch.cat([end, end[extra]]),
        torch.cat([offsets, offsets[extra]]),
        torch.cat([example_index, extra + num_examples]),
        num_examples + 1,
    )


def best_time(run, repeats: int) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


def loop_reference(start, end, offsets, example_index, num_examples, n_best, max_len):
    """Per-feature Python loops: the notebook way (numpy argsort + nested n-best loops)."""
    start, end, offsets = start.numpy(), end.numpy(), offsets.numpy()
    candidates: list[list[tuple[float, int, int]]] = [[] for _ in range(num_examples)]
    for f in range(start.shape[0]):
        s_idx = np.argsort(start[f])[-1 : -n_best - 1 : -1]
        e_idx = np.argsort(end[f])[-1 : -n_best - 1 : -1]
        for i in s_idx:
            for j in e_idx:
                if offsets[f, i, 0] < 0 or offsets[f, j, 0] < 0:
                    continue
                if j < i or j - i + 1 > max_len:
                    continue
                candidates[example_index[f]].append(
                    (start[f, i] + end[f, j], offsets[f, i, 0], offsets[f, j, 1])
                )
    best, top_prob = [], []
    for spans in candidates:
        spans = sorted(spans, key=lambda c: -c[0])[:n_best]
        scores = np.array([c[0] for c in spans])
        probs = np.exp(scores - scores.max())
        probs /= probs.sum()
        best.append((spans[0][1], spans[0][2]))
        top_prob.append(probs[0])
    return best, np.array(top_prob)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=10_000)
    parser.add_argument("--length", type=int, default=384)
    parser.add_argument("--n-best", type=int, default=20)
    parser.add_argument("--max-answer-length", type=int, default=30)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-document", type=int, default=150, help="its windows; 0: skip")
    args = parser.parse_args()

    start, end, offsets, example_index, num_examples = synthetic_pool(args.windows, args.length)
    device = torch.device(args.device)
    tensors = [t.to(device) for t in (start, end, offsets, example_index)]
    print(
        f"pool: {args.windows} windows x {args.length} tokens, {num_examples} questions, "
        f"n_best={args.n_best}, max_answer_length={args.max_answer_length}, device={device}"
    )

    def vectorised(tensors=tensors, num_examples=num_examples):
        spans = question_spans(
            *tensors[:3], tensors[3], num_examples, args.n_best, args.max_answer_length
        )
        if device.type == "cuda":
            torch.cuda.synchronize()
        return spans

    fast = best_time(vectorised, args.repeats)
    spans = vectorised()

    began = time.perf_counter()
    best, top_prob = loop_reference(
        start,
        end,
        offsets,
        example_index.numpy(),
        num_examples,
        args.n_best,
        args.max_answer_length,
    )
    slow = time.perf_counter() - began

    ours = list(zip(spans.start_char[:, 0].tolist(), spans.end_char[:, 0].tolist()))
    same_best = np.mean([a == b for a, b in zip(ours, best)])
    prob_gap = np.abs(spans.probs[:, 0].cpu().numpy() - top_prob).max()
    print(f"per-feature Python loop : {slow:8.3f} s")
    print(f"alqa vectorised (best of {args.repeats}): {fast:8.3f} s")
    print(f"speed-up                : {slow / fast:8.1f}x")
    print(f"same best span          : {100 * same_best:.2f}% of questions")
    print(
        f"max |p_best difference| : {prob_gap:.2e} (the loop keeps duplicate spans of "
        "overlapping windows; alqa keeps each span once)"
    )
    if args.long_document:
        *longer, more = with_long_document(
            start, end, offsets, example_index, num_examples, args.long_document
        )
        longer = [t.to(device) for t in longer]
        took = best_time(lambda: vectorised(longer, more), args.repeats)
        print(
            f"+ one {args.long_document}-window question: {took:8.3f} s "
            f"({took / fast:.2f}x the pool without it)"
        )


if __name__ == "__main__":
    main()
