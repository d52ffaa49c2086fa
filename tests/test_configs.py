"""Every config group option composes, and `main.py --cfg job` prints it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO_ROOT, compose
from omegaconf import OmegaConf

CONF = REPO_ROOT / "conf"
GROUPS = ["dataset", "model", "strategy", "budget", "train", "scoring", "logger", "oracle"]
OPTIONS = [(g, p.stem) for g in GROUPS for p in sorted((CONF / g).glob("*.yaml"))]


@pytest.mark.parametrize(("group", "option"), OPTIONS)
def test_every_option_composes_and_resolves(group, option):
    cfg = compose([f"{group}={option}"])
    resolved = OmegaConf.to_container(cfg, resolve=True)
    assert resolved[group] is not None
    if group == "strategy":
        from alqa.strategies import build_strategy

        assert resolved["strategy"]["name"] == option
        assert resolved["strategy"]["_target_"].startswith("alqa.strategies")
        assert build_strategy(cfg.strategy).name == option  # the class it builds agrees
    if group == "model":
        assert resolved["train"]["learning_rate"] == resolved["model"]["learning_rate"]
        assert {"name_or_path", "max_length", "stride"} <= set(resolved["model"])


def test_every_registered_strategy_has_a_config():
    from alqa.strategies import available_strategies

    assert set(available_strategies()) == {p.stem for p in (CONF / "strategy").glob("*.yaml")}


def test_public_keys_and_defaults_follow_the_seed():
    cfg = compose([])
    assert cfg.budget.initial == 100 and cfg.budget.quota == 1000
    assert cfg.scoring.n_best == 20 and cfg.scoring.max_answer_length == 30
    assert cfg.model.max_length == 384 and cfg.model.stride == 128
    assert cfg.model.name == "minilm" and cfg.train.learning_rate == pytest.approx(1e-4)
    for key in ("train_file", "eval_file", "pool_size", "eval_size"):
        assert key in cfg.dataset


LAUNCHERS = [
    ("launcher", p.stem)
    for p in sorted((CONF / "launcher").glob("*.yaml"))
    if p.stem != "submitit_slurm"
]  # needs the optional plugin (tests/test_sweeps.py)


def _one_per_group_fast(options: list[tuple[str, str]]) -> list:
    """Every option; all but the last of each group run in `make test-all` only (each one is
    a subprocess, and test_every_option_composes_and_resolves composes them all in-process)."""
    last = {group: option for group, option in options}
    return [
        pytest.param(group, option, marks=() if last[group] == option else pytest.mark.slow)
        for group, option in options
    ]


@pytest.mark.parametrize(("group", "option"), _one_per_group_fast(OPTIONS + LAUNCHERS))
def test_cfg_job_works_from_the_command_line_for_every_option(group, option):
    # a launcher only configures Hydra itself, so it shows in `--cfg hydra`, not in the job
    part = "hydra" if group == "launcher" else "job"
    result = subprocess.run(
        [sys.executable, "main.py", f"{group}={option}", "--cfg", part]
        + (["--resolve"] if part == "job" else []),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    printed = OmegaConf.create(result.stdout)
    if group == "launcher":
        assert option in printed.hydra.launcher._target_.lower()
    else:
        assert group in printed and "seed" in printed
        if group in ("dataset", "model", "strategy"):
            assert printed[group].name == option
