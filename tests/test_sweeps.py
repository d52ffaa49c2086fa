"""Multiruns: ready-made sweep files, one directory per job, failed jobs reported, compare.

The two subprocess tests run the real ``python main.py -m ...`` command line from the repo
root, as a user would, on the random-weight tiny model and the tiny data.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO_ROOT

from alqa import sweep
from alqa.compare import main as compare_main
from alqa.curves import label_savings

SWEEPS = REPO_ROOT / "multirun_sweeps" / "sweep"
#: the one list of strategies: the option files of the ``strategy`` config group
ALL_STRATEGIES = sorted(p.stem for p in (REPO_ROOT / "conf" / "strategy").glob("*.yaml"))
#: sweep file -> number of jobs it expands to
EXPECTED_JOBS = {
    "all_strategies": len(ALL_STRATEGIES) * 3,
    "uncertainty_vs_random": 4 * 3,
    "dropout_vs_random": 7 * 3,
    "diversity_vs_random": 6 * 3,
    "per_round": 3 * 2 * 3,
    "smoke": len(ALL_STRATEGIES),
    "showcase": 5 * 3,
    "showcase_cpu": 3 * 3,
}


def main_py(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python main.py <args>`` from the repository root, offline and without W&B."""
    env = {**os.environ, "WANDB_MODE": "disabled", "HYDRA_FULL_ERROR": "1"}
    return subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def data_overrides(tiny_data) -> list[str]:
    return [f"dataset.train_file={tiny_data['train']}", f"dataset.eval_file={tiny_data['eval']}"]


def job_dirs(sweep_dir: Path) -> list[Path]:
    return sorted((p for p in sweep_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))


def aubc(x: list[float], y: list[float]) -> float:
    """Trapezoidal area under the curve divided by the budget span, recomputed here."""
    area = sum((x[i + 1] - x[i]) * (y[i] + y[i + 1]) / 2 for i in range(len(x) - 1))
    return area / (x[-1] - x[0])


# ------------------------------------------------------------------- a real sweep + compare


def test_sweep_file_runs_strategies_x_seeds_and_compare_matches_the_results(tiny_data, tmp_path):
    sweep_dir = tmp_path / "sweep"
    # the smoke sweep file (tiny model, 10/5/10 budget) with its strategy list narrowed on the
    # command line: exercises the search path, the sweep's defaults and CLI precedence
    done = main_py(
        "-m",
        "sweep=smoke",
        "strategy=random,margin",
        "seed=0,1",
        "logger=none",
        *data_overrides(tiny_data),
        "dataset.pool_size=null",
        "dataset.eval_size=null",
        f"hydra.sweep.dir={sweep_dir}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "multirun jobs failed" not in done.stderr

    # one directory and one results.json per job, plus the sweep's own record
    multirun = (sweep_dir / "multirun.yaml").read_text()
    assert "strategy=random,margin" in multirun and "sweep=smoke" in multirun
    jobs = job_dirs(sweep_dir)
    assert [p.name for p in jobs] == ["0", "1", "2", "3"]
    results = {}
    for job in jobs:
        assert (job / ".hydra" / "overrides.yaml").is_file()
        result = json.loads((job / "results.json").read_text())
        config = result["config"]
        assert config["model"]["name"] == "tiny"  # from the sweep file's defaults
        assert result["finished"] is True
        assert [r["n_labeled"] for r in result["rounds"]] == [10, 15, 20]
        results[(config["strategy"]["name"], config["seed"])] = result
    assert sorted(results) == [("margin", 0), ("margin", 1), ("random", 0), ("random", 1)]

    out = tmp_path / "compare"
    assert compare_main([str(sweep_dir), "--out", str(out)]) == 0
    for name in ("learning_curve.png", "learning_curve.svg", "comparison.md", "comparison.csv"):
        assert (out / name).stat().st_size > 0, name
    with open(out / "comparison.csv", newline="") as handle:
        rows = {row["strategy"]: row for row in csv.DictReader(handle)}
    assert sorted(rows) == ["margin", "random"]

    def mean_curve(strategy: str, metric: str) -> tuple[list[float], list[float]]:
        curves = [[r[metric] for r in results[(strategy, s)]["rounds"]] for s in (0, 1)]
        return [10.0, 15.0, 20.0], list(np.mean(curves, axis=0))

    for strategy, row in rows.items():
        assert int(row["n_seeds"]) == 2
        for metric in ("f1", "em"):
            per_seed = [
                aubc(*zip(*[(r["n_labeled"], r[metric]) for r in results[(strategy, s)]["rounds"]]))
                for s in (0, 1)
            ]
            assert math.isclose(float(row[f"aubc_{metric}_mean"]), np.mean(per_seed), abs_tol=1e-5)
            final = np.mean([results[(strategy, s)]["rounds"][-1][metric] for s in (0, 1)])
            assert math.isclose(float(row[f"final_{metric}_mean"]), final, abs_tol=1e-5)
        saved = label_savings(mean_curve(strategy, "f1"), mean_curve("random", "f1"))
        if saved is None:
            assert row["label_savings_f1"] == ""
        else:
            assert math.isclose(float(row["label_savings_f1"]), saved, abs_tol=1e-5)
    assert float(rows["random"]["label_savings_f1"]) == 0.0
    table = (out / "comparison.md").read_text()
    assert f"{float(rows['margin']['aubc_f1_mean']):.1f}" in table


# ------------------------------------------------------------------- a failing job


# a second real multirun (about 9 s of subprocesses): in `make test-all`, which CI runs
@pytest.mark.slow
def test_a_failed_job_is_recorded_reported_and_does_not_stop_the_others(tiny_data, tmp_path):
    sweep_dir = tmp_path / "sweep"
    # job 0 asks for more questions than the pool holds (known only once the data is
    # loaded); job 1 is fine. Run in parallel worker processes (launcher=joblib): the failure
    # is reported from the files, not from return values that stay in the workers.
    done = main_py(
        "-m",
        "launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "model=tiny",
        "logger=none",
        "strategy=random",
        *data_overrides(tiny_data),
        "budget.initial=10",
        "budget.per_round=5",
        "budget.quota=100,5",
        f"hydra.sweep.dir={sweep_dir}",
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "alqa: 1 of 2 multirun jobs failed:" in done.stderr
    assert "job 0 [budget.quota=100]: BudgetError: budget.initial + budget.quota" in done.stderr
    assert "Traceback" not in done.stderr  # a user error: the traceback is in failed.json

    failed = json.loads((sweep_dir / "0" / "failed.json").read_text())
    assert failed["error_type"] == "BudgetError"
    assert "the pool has only 60" in failed["message"]
    assert "Traceback" in failed["traceback"] and "validate" in failed["traceback"]
    assert failed["job"]["num"] == 0 and "budget.quota=100" in failed["job"]["overrides"]
    assert not (sweep_dir / "0" / "results.json").exists()

    assert not (sweep_dir / "1" / "failed.json").exists()
    result = json.loads((sweep_dir / "1" / "results.json").read_text())
    assert result["finished"] and [r["n_labeled"] for r in result["rounds"]] == [10, 15]


# ------------------------------------------------------------------- sweep files


def expand(overrides: list[str]) -> tuple[object, list[list[str]]]:
    """Compose like ``python main.py -m <overrides>`` and expand the sweep as Hydra would."""
    from hydra import compose, initialize_config_dir
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.override_parser.overrides_parser import OverridesParser

    chosen = [o for o in overrides if o.startswith("sweep=")]
    command_line = [o for o in overrides if o not in chosen]
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=chosen, return_hydra_config=True)
        loader = GlobalHydra.instance().config_loader()  # expands glob(*) over group options
        params = [f"{k}={v}" for k, v in (cfg.hydra.sweeper.params or {}).items()]
        parsed = OverridesParser.create(config_loader=loader).parse_overrides(params + command_line)
    jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    return cfg, jobs


def test_every_sweep_file_composes_and_expands_to_its_jobs(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)  # the search path is relative to where main.py is launched
    assert sorted(p.stem for p in SWEEPS.glob("*.yaml")) == sorted(EXPECTED_JOBS)
    known = {p.stem for p in (REPO_ROOT / "conf" / "strategy").glob("*.yaml")}
    for name, n_jobs in EXPECTED_JOBS.items():
        cfg, jobs = expand([f"sweep={name}"])
        assert len(jobs) == n_jobs, name
        assert len({tuple(j) for j in jobs}) == n_jobs, f"{name} repeats a job"
        assert str(cfg.hydra.sweep.dir).startswith(f"multirun/{name}/"), name
        strategies = {o.split("=", 1)[1] for j in jobs for o in j if o.startswith("strategy=")}
        assert strategies <= known, f"{name}: no conf/strategy/ for {strategies - known}"

    _, jobs = expand(["sweep=all_strategies"])
    pairs = [tuple(o.split("=", 1)[1] for o in job) for job in jobs]
    assert sorted(pairs) == sorted((s, str(seed)) for s in ALL_STRATEGIES for seed in (0, 1, 2))

    # a value given on the command line replaces the sweep's
    _, jobs = expand(["sweep=all_strategies", "seed=0"])
    assert len(jobs) == len(ALL_STRATEGIES) and all("seed=0" in job for job in jobs)
    _, jobs = expand(["sweep=per_round", "budget.per_round=25,50"])
    assert len(jobs) == 2 * 2 * 3


def test_each_job_of_a_sweep_composes_to_its_own_config(monkeypatch):
    from hydra import compose, initialize_config_dir

    monkeypatch.chdir(REPO_ROOT)
    _, jobs = expand(["sweep=per_round"])
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        for job in jobs[:: len(jobs) // 4]:
            cfg = compose("config", overrides=["sweep=per_round", *job])
            values = dict(o.split("=", 1) for o in job)
            assert cfg.strategy.name == values["strategy"]
            assert cfg.budget.per_round == int(values["budget.per_round"])
            assert cfg.seed == int(values["seed"])


# ------------------------------------------------------------------- launchers


def test_launcher_configs_pick_hydra_launchers(monkeypatch):
    from hydra import compose, initialize_config_dir

    monkeypatch.chdir(REPO_ROOT)
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        basic = compose("config", return_hydra_config=True)
        joblib = compose("config", overrides=["launcher=joblib"], return_hydra_config=True)
    assert basic.hydra.launcher._target_.endswith("BasicLauncher")
    assert joblib.hydra.launcher._target_.endswith("JoblibLauncher")
    assert joblib.hydra.launcher.n_jobs == 2
    assert "launcher" not in joblib  # launcher settings stay out of the run's config


def _plugin_installed(module: str) -> bool:
    """find_spec raises, not returns None, when no plugin at all is installed."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.skipif(
    _plugin_installed("hydra_plugins.hydra_submitit_launcher"),
    reason="the submitit plugin is installed",
)
def test_slurm_launcher_without_its_plugin_fails_naming_it(monkeypatch):
    from hydra import compose, initialize_config_dir
    from hydra.errors import MissingConfigException

    monkeypatch.chdir(REPO_ROOT)
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        with pytest.raises(MissingConfigException, match="hydra/launcher/submitit_slurm"):
            compose("config", overrides=["launcher=submitit_slurm"], return_hydra_config=True)
    text = (REPO_ROOT / "conf" / "launcher" / "submitit_slurm.yaml").read_text()
    assert "pip install -e '.[slurm]'" in text


# ------------------------------------------------------------------- helpers in alqa.sweep


def test_report_lists_only_this_sweeps_failures(tmp_path):
    stale, fresh = tmp_path / "0" / "failed.json", tmp_path / "1" / "failed.json"
    for path, num in ((stale, 0), (fresh, 1)):
        path.parent.mkdir()
        record = {"error_type": "ValueError", "message": f"bad {num}\nmore", "traceback": ""}
        record["job"] = {"num": num, "overrides": ["model=tiny", f"seed={num}"]}
        path.write_text(json.dumps(record))
    started = time.time()
    os.utime(stale, (started - 3600, started - 3600))  # left by an earlier attempt

    failures = sweep.find_failures(tmp_path, since=started)
    assert [f.path for f in failures] == [fresh]
    text = sweep.failure_summary(failures, total=2, common=["model=tiny"])
    assert text.splitlines() == [
        "alqa: 1 of 2 multirun jobs failed:",
        "  job 1 [seed=1]: ValueError: bad 1",
        f"    details: {fresh}",
    ]
    assert len(sweep.find_failures(tmp_path)) == 2


def test_gpu_slots_are_exclusive_until_released(tmp_path):
    first, held_a = sweep.claim_slot(tmp_path, n_slots=2, preferred=1)
    second, held_b = sweep.claim_slot(tmp_path, n_slots=2, preferred=1)
    assert (first, second) == (1, 0) and held_a and held_b
    shared, none = sweep.claim_slot(tmp_path, n_slots=2, preferred=3)  # all taken: share
    assert (shared, none) == (1, None)
    held_a.close()
    again, held_c = sweep.claim_slot(tmp_path, n_slots=2, preferred=0)
    assert again == 1 and held_c
    held_b.close()
    held_c.close()


def test_a_sweep_without_multirun_stops_before_any_work(monkeypatch, tmp_path, capsys):
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig

    from alqa.app import run_from_config

    monkeypatch.chdir(REPO_ROOT)
    with initialize_config_dir(config_dir=str(REPO_ROOT / "conf"), version_base="1.3"):
        cfg = compose(
            "config",
            overrides=["sweep=uncertainty_vs_random", "hydra.mode=RUN"],
            return_hydra_config=True,
        )
    monkeypatch.setattr(HydraConfig.instance(), "cfg", None)  # restored after the test
    HydraConfig.instance().set_config(cfg)
    with pytest.raises(SystemExit) as stop:
        run_from_config(cfg, tmp_path)
    assert stop.value.code == 2
    assert "python main.py -m sweep=uncertainty_vs_random" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
