"""Print a run's per-round phase timings and EM/F1 curve from its results.json.

python benchmarks/phase_table.py outputs/.../results.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from alqa.report import rounds_table


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(rounds_table(json.loads(Path(sys.argv[1]).read_text())))


if __name__ == "__main__":
    main()
