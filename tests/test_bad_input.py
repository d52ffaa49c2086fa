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


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["strategy=entropi"], ["entropi", "random", "margin", "entropy", "least_confidence"]),
        (["-m", "strategy=random,entropi"], ["entropi", "Available options in 'strategy'"]),
        (["budget.quta=3"], ["budget.quta", "+budget.quta=3"]),
    ],
    ids=["unknown-option", "unknown-option-in-a-sweep", "unknown-key"],
)
def test_hydra_composing_errors_are_one_line_and_exit_2(tmp_path, overrides, expected):
    result = run_cli(*overrides, "model=tiny", f"hydra.run.dir={tmp_path}/run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("alqa: error: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert all(text in result.stderr for text in expected), result.stderr
    assert "HYDRA_FULL_ERROR" not in result.stderr and "search path" not in result.stderr
    if "-m" not in overrides:  # (a sweep's folder is made before its jobs are composed)
        assert list(tmp_path.iterdir()) == []  # composing failed before any run folder


def test_a_bad_value_is_said_once_and_leaves_no_empty_run_folder(tmp_path):
    result = run_cli("model=tiny", "logger=none", "train.epochs=0", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "alqa: error: train.epochs must be ≥ 1, got 0"
    assert "train.epochs" not in result.stdout
    assert list(tmp_path.iterdir()) == []  # not outputs/squad_sample/tiny/margin/seed0/<time>
    result = run_cli("model=tiny", "logger=none", "sweep=smoke", cwd=tmp_path)
    assert result.returncode == 2 and "add -m" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("budget.per_round=0", "budget.per_round"),
        ("budget.initial=-3", "budget.initial"),
        ("budget.quota=-1", "budget.quota"),
        ("budget.quota=500", "or use a larger pool"),
        ("budget.quota=500 dataset.pool_size=100", "or raise dataset.pool_size"),
        ("budget.per_round=x", "budget.per_round"),
    ],
)
def test_impossible_budget_names_the_key_before_any_training(
    tiny_data, tmp_path, capsys, override, key
):
    assert fail(tmp_path, *override.split(), data=tiny_data) == 2
    assert key in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists()
    assert not (tmp_path / "al_state.json").exists()


BAD_VALUES = [
    ("strategy.batch=bogus", "strategy.batch"),
    ("strategy.beta=-1", "strategy.beta"),
    ("strategy=bald strategy.mc_passes=0", "strategy.mc_passes"),
    ("strategy=kcenter_pca strategy.pca_dim=0", "strategy.pca_dim"),
    ("+strategy.foo=1", "strategy.foo is not a setting of margin"),
    ("strategy=bald strategy.attention_dropout=off", "strategy.attention_dropout must be true or"),
    ("strategy=bald strategy.mc_passes=2.5", "strategy.mc_passes must be a whole number"),
    ("strategy.batch=softmax strategy.beta=inf", "strategy.beta must be a finite number"),
    ("strategy.beta=abc", "strategy.beta must be a finite number, got 'abc'"),
    ("strategy=loss_prediction strategy.detach_features=no", "strategy.detach_features must be"),
    ("+budget.intial=20", "budget.intial is not a setting of budget; its settings: initial,"),
    ("+train.lr=5", "train.lr is not a setting of train; its settings: learning_rate,"),
    ("+scoring.nbest=3", "scoring.nbest is not a setting of scoring; its settings: n_best,"),
    ("strategy.name=entropy", "contradicts strategy._target_"),
    ("model.stride=200", "model.stride (200) must be smaller than model.max_length (128)"),
    ("model.max_length=0", "model.max_length"),
    ("train.learning_rate=-0.1", "train.learning_rate must be > 0.0"),
    ("train.epochs=0", "train.epochs must be ≥ 1"),
    ("train.batch_size=0", "train.batch_size"),
    ("train.warmup_ratio=2", "train.warmup_ratio must be in [0.0, 1.0]"),
    ("train.bf16=maybe", "train.bf16 must be true or false"),
    ("train.device=gpu", "train.device must be auto, cpu, cuda, cuda:<n> or mps"),
    ("train.device=cuda:7", "train.device=cuda:7 but this machine has"),
    ("train.device=mps", "train.device=mps but this machine has no Apple-silicon GPU"),
    ("model.max_length=600", "model.max_length (600) is longer than the model 'tiny' can read"),
    ("model.stride=124", "model.stride (124) leaves no room for a question"),
    ("scoring.n_best=0", "scoring.n_best must be ≥ 1"),
    ("scoring.max_answer_length=-2", "scoring.max_answer_length"),
    ("seed=-1", "seed must be a whole number"),
    ("dataset.pool_size=0", "dataset.pool_size must be at least 1"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_VALUES, ids=[o for o, _ in BAD_VALUES])
def test_bad_values_stop_before_any_data_is_tokenised(
    tiny_data, tmp_path, capsys, monkeypatch, overrides, message
):
    import alqa.experiment

    def no_tokenising(*args, **kwargs):
        raise AssertionError("data was tokenised before the bad value was caught")

    monkeypatch.setattr(alqa.experiment, "tokenize_questions", no_tokenising)
    assert fail(tmp_path, *overrides.split(), data=tiny_data) == 2
    err = capsys.readouterr().err
    assert err.startswith("alqa: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "al_state.json").exists()


def test_a_bad_value_on_the_command_line_is_one_line_and_exit_2_before_torch_loads(tmp_path):
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(REPO_ROOT / "main.py"), "model=tiny"]
        + ["logger=none", "train.epochs=0", f"hydra.run.dir={tmp_path}"],
        cwd=REPO_ROOT,
        env=CLI_ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert "train.epochs must be ≥ 1" in result.stderr and "Traceback" not in result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
    assert "alqa.app" in imported  # -X importtime did list the imports
    assert not {"torch", "transformers"} & imported  # the answer did not wait for them


def test_malformed_dataset_file(tiny_data, tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "c"}]}]}))
    data = {**tiny_data, "train": broken}
    assert fail(tmp_path / "run", data=data) == 2
    err = capsys.readouterr().err
    assert "broken.json" in err and "qas" in err


# a subprocess with a fresh offline hub (about 6 s): in `make test-all`, which CI runs
@pytest.mark.slow
def test_missing_files_offline_say_how_to_pass_them(tmp_path):
    result = run_cli("dataset=squad", "model=tiny", "logger=none", f"hydra.run.dir={tmp_path}")
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


def test_ctrl_c_says_how_to_resume_in_one_line_and_keeps_the_finished_rounds(
    tiny_data, tmp_path, monkeypatch, capsys
):
    import alqa.loop

    write = alqa.loop.write_results

    def write_then_ctrl_c(run_dir, results):
        write(run_dir, results)
        raise KeyboardInterrupt

    monkeypatch.setattr(alqa.loop, "write_results", write_then_ctrl_c)
    assert fail(tmp_path, "strategy=random", data=tiny_data) == 130
    err = capsys.readouterr().err
    assert f"hydra.run.dir={tmp_path} to resume" in err and "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("alqa:")] == [
        f"alqa: interrupted; rerun the command with hydra.run.dir={tmp_path} to resume "
        "(finished rounds are kept)"
    ]
    assert len(json.loads((tmp_path / "results.json").read_text())["rounds"]) == 1


def test_a_full_disk_is_one_line_exit_2_and_the_finished_rounds_resume(
    tiny_data, tmp_path, capsys, monkeypatch
):
    import errno

    import alqa.loop

    extra = ("strategy=margin",)
    cfg = compose(tiny_overrides(tiny_data, *extra))
    uninterrupted = run_from_config(cfg, run_dir=tmp_path / "full")
    save = alqa.loop.save_state

    def disk_full_at_round_one(run_dir, state):
        if len(state.rounds) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(run_dir / "x.tmp"))
        save(run_dir, state)

    with monkeypatch.context() as patch:
        patch.setattr(alqa.loop, "save_state", disk_full_at_round_one)
        assert fail(tmp_path / "run", *extra, data=tiny_data) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "alqa: error" in line]
    assert len(errors) == 1 and errors[0].startswith("alqa: error: cannot write ")
    assert "No space left on device" in errors[0] and "finished rounds are kept" in errors[0]
    assert run_from_config(cfg, run_dir=tmp_path / "run") == uninterrupted
