"""Bad input fails early with a message that names the problem and the fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, compose, tiny_overrides

from alqa.app import run_from_config

CLI_ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled"}


def run_cli(*overrides: str, cwd=REPO_ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "main.py"), *overrides],
        cwd=cwd,
        env=CLI_ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


def fail(tmp_path, *extra, data):
    """Run in-process through the app's error handling; return (exit code, stderr text)."""
    cfg = compose(tiny_overrides(data, *extra))
    with pytest.raises(SystemExit) as stop:
        run_from_config(cfg, run_dir=tmp_path)
    return stop.value.code


def test_unknown_strategy_lists_the_available_ones(tmp_path):
    result = run_cli("strategy=entropi", "model=tiny", f"hydra.run.dir={tmp_path}")
    assert result.returncode != 0
    assert "entropi" in result.stderr
    for name in ("random", "margin", "entropy", "least_confidence"):
        assert name in result.stderr


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("budget.per_round=0", "budget.per_round"),
        ("budget.initial=-3", "budget.initial"),
        ("budget.quota=-1", "budget.quota"),
        ("budget.quota=500", "budget.initial + budget.quota"),
        ("budget.per_round=x", "budget.per_round"),
    ],
)
def test_impossible_budget_names_the_key_before_any_training(
    tiny_data, tmp_path, capsys, override, key
):
    assert fail(tmp_path, override, data=tiny_data) == 2
    assert key in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists()
    assert not (tmp_path / "al_state.json").exists()


def test_malformed_dataset_file(tiny_data, tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "c"}]}]}))
    data = {**tiny_data, "train": broken}
    assert fail(tmp_path / "run", data=data) == 2
    err = capsys.readouterr().err
    assert "broken.json" in err and "qas" in err


def test_missing_files_offline_say_how_to_pass_them(tmp_path):
    result = run_cli("model=tiny", "logger=none", f"hydra.run.dir={tmp_path}")
    assert result.returncode == 2
    assert "dataset.train_file=" in result.stderr and "offline" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_model_package_or_folder_is_explained(tiny_data, tmp_path, capsys):
    code = fail(
        tmp_path, "model=minilm", "model.name_or_path=pkg://no_such_pkg/model", data=tiny_data
    )
    assert code == 2
    assert "pip install no-such-pkg" in capsys.readouterr().err
    code = fail(tmp_path, "model=minilm", f"model.name_or_path={tmp_path}/nowhere", data=tiny_data)
    assert code == 2
    assert "model=minilm" in capsys.readouterr().err


def test_work_already_done_survives_a_bad_rerun(tiny_data, tmp_path, capsys):
    cfg = compose(tiny_overrides(tiny_data, "strategy=random"))
    run_from_config(cfg, run_dir=tmp_path)
    before = (tmp_path / "results.json").read_bytes()
    assert fail(tmp_path, "strategy=margin", data=tiny_data) == 2
    assert "different configuration" in capsys.readouterr().err
    assert (tmp_path / "results.json").read_bytes() == before
