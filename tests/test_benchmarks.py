"""The benchmark scripts run end to end at a small size (CI smokes them; numbers not judged)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import REPO_ROOT


@pytest.mark.slow
def test_round_costs_prints_every_pass_ratio_and_the_projection():
    result = subprocess.run(
        [sys.executable, "benchmarks/round_costs.py", "--device", "cpu", "--model", "tiny"]
        + ["--pool", "60", "--batch-size", "32"],
        cwd=REPO_ROOT,
        env={**os.environ, "TQDM_DISABLE": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    for name in (
        "scoring with spans",
        "one MC-dropout pass",
        "BADGE scoring with gradients",
        "loss-prediction pass",
        "evaluation",
    ):
        ratio = re.search(rf"\| {name} \| [\d.]+ \| ([\d.]+) \|", out)
        assert ratio and float(ratio.group(1)) > 0, name
    assert re.search(r"bare forward loop: \d+ windows/s", out)
    assert "alqa / bare =" in out and "peak memory:" in out
    families = re.findall(r"^\| (.+?) \| ([\d.]+) \|$", out.split("projected full run")[1], re.M)
    hours = dict(families)
    assert float(hours["MC dropout, T=10"]) > float(hours["margin / entropy / least_confidence"])
    assert float(hours["margin / entropy / least_confidence"]) >= float(hours["random"])
