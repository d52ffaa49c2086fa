"""What the feature cache saves: a run's set-up (load, tokenise, build the model) twice.

Each set-up runs in a fresh process, as two jobs of a sweep would: the first with an empty
cache folder (it tokenises and writes the windows), the second reading them back.

    python benchmarks/setup_cost.py --train-file <path to train-v1.1.json> [--model minilm]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CHILD = """
import sys, time
sys.path.insert(0, {tests!r})
from conftest import compose
from alqa.experiment import build_experiment
started = time.perf_counter()
build_experiment(compose({overrides!r}))
print(time.perf_counter() - started)
"""


def set_up_seconds(overrides: list[str]) -> tuple[float, float]:
    """(set-up seconds inside the process, wall seconds of the whole process)."""
    code = CHILD.format(tests=str(REPO_ROOT / "tests"), overrides=overrides)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT
    )
    return float(done.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--model", default="minilm")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        overrides = [
            f"model={args.model}",
            "strategy=random",
            "logger=none",
            f"dataset.train_file={args.train_file}",
            f"dataset.eval_file={args.train_file}",
            "dataset.eval_size=500",
            f"features_cache={cache}",
        ]
        cold = set_up_seconds(overrides)
        warm = set_up_seconds(overrides)
    print("| run | set-up s | process wall s |\n|---|--:|--:|")
    print(f"| first (tokenises) | {cold[0]:.1f} | {cold[1]:.1f} |")
    print(f"| second (cache) | {warm[0]:.1f} | {warm[1]:.1f} |")
    print(f"second / first wall time: {warm[1] / cold[1]:.2f}")


if __name__ == "__main__":
    main()
