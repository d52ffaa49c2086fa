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


def test_the_gpu_kit_carries_weights_in_fp16_and_restores_fp32(tmp_path):
    sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
    import gpu_kit
    import torch
    from omegaconf import OmegaConf
    from safetensors.torch import load_file

    from alqa.modeling import build_model, load_tokenizer

    tiny = OmegaConf.load(REPO_ROOT / "conf" / "model" / "tiny.yaml")
    tokenizer = load_tokenizer(tiny)
    original = build_model(tiny, tokenizer)
    source, kit, restored = tmp_path / "source", tmp_path / "kit", tmp_path / "restored"
    original.save_pretrained(source)
    tokenizer.save_pretrained(source)
    gpu_kit.pack_model(source, kit / "model")
    gpu_kit.unpack_model(kit, restored)

    packed = load_file(kit / "model" / gpu_kit.WEIGHTS)
    weights = load_file(restored / gpu_kit.WEIGHTS)
    reference = load_file(source / gpu_kit.WEIGHTS)
    assert {t.dtype for t in packed.values()} == {torch.float16}
    assert weights.keys() == reference.keys()
    for name, tensor in weights.items():
        assert tensor.dtype == torch.float32
        assert torch.equal(tensor, reference[name].half().float()), name
    assert (restored / "tokenizer.json").is_file() and (restored / "config.json").is_file()


@pytest.mark.slow
def test_gpu_check_runs_its_stages_small_on_a_cpu(tiny_data, tmp_path):
    out = tmp_path / "out"
    env = {
        **os.environ,
        "TQDM_DISABLE": "1",
        "PYTHON": sys.executable,
        "DEVICE": "cpu",
        "MODEL": "tiny",
        "KIT": str(tmp_path / "no_kit"),
        "WORK": str(tmp_path / "work"),
        "TRAIN": str(tiny_data["train"]),
        "EVAL": str(tiny_data["eval"]),
        "POOL": "40",
        "EVAL_SIZE": "10",
        "RUN_ARGS": "budget.initial=10 budget.per_round=5 budget.quota=5",
    }
    result = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", str(out), "tests", "costs", "round"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    summary = (out / "summary.txt").read_text()
    for stage in ("tests", "costs", "round_entropy", "round_badge"):
        assert re.search(rf"stage {stage}: exit 0 ", summary), summary
    assert "skipped" in (out / "tests.log").read_text()  # no CUDA here
    assert "bare forward loop:" in (out / "costs.log").read_text()
    assert "read from the cache" in (out / "round_badge.log").read_text()  # the 2nd run
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["summary.txt", "tests.log", "costs.log", "round_entropy.log", "round_badge.log"]
        + ["runs.tar.gz"]
    )
