"""Print a run's per-round phase timings and EM/F1 curve from its results.json.

python benchmarks/phase_table.py outputs/.../results.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    results = json.loads(Path(sys.argv[1]).read_text())
    print("| round | labeled | EM | F1 | train s | eval s | score s | select s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["rounds"]:
        print(
            f"| {r['round']} | {r['n_labeled']} | {r['em']:.2f} | {r['f1']:.2f} | "
            f"{r['train_seconds']:.1f} | {r['eval_seconds']:.1f} | {r['score_seconds']:.1f} | "
            f"{r['select_seconds']:.2f} |"
        )
    print(
        f"AUBC EM {results['aubc_em']:.2f}, AUBC F1 {results['aubc_f1']:.2f}, "
        f"finished: {results['finished']}"
    )


if __name__ == "__main__":
    main()
