"""Print a run's per-round phase timings and EM/F1 curve from its results.json.

python benchmarks/phase_table.py outputs/.../results.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from alqa.report import rounds_table


def main() -> None:
    parser = argparse.ArgumentParser(description="A run's phase timings and EM/F1 per round.")
    parser.add_argument("results", type=Path, help="the run's results.json")
    path = parser.parse_args().results
    try:
        results = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        parser.exit(2, f"phase_table: error: {path}: {error}\n")
    print(rounds_table(results))


if __name__ == "__main__":
    main()
