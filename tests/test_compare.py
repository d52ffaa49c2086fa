"""Tests of the budget-curve helpers and the offline run comparison (alqa-compare).

Expected numbers are worked out by hand (or from the fake results with plain arithmetic),
never read back from the implementation.
"""

from __future__ import annotations

import csv
import importlib
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import alqa.compare.cli
from alqa.compare import main, t_critical
from alqa.curves import area_under_budget_curve, label_savings, labels_to_reach

T_DF1 = 12.706  # t_{0.975, 1}


# --------------------------------------------------------------------------- curves


def test_labels_to_reach_interpolates_between_rounds() -> None:
    # 60 lies 10/20 of the way from (100, 50) to (200, 70) -> 150 labels.
    assert labels_to_reach([100, 200, 300], [50, 70, 80], 60) == pytest.approx(150.0)


def test_labels_to_reach_exactly_at_a_round_and_at_the_first_point() -> None:
    assert labels_to_reach([100, 200, 300], [50, 70, 80], 70) == pytest.approx(200.0)
    assert labels_to_reach([100, 200, 300], [65, 70, 80], 65) == pytest.approx(100.0)
    assert labels_to_reach([100, 200, 300], [65, 70, 80], 10) == pytest.approx(100.0)


def test_labels_to_reach_uses_the_first_crossing() -> None:
    # Crosses 60 between 100 and 200 (at 125), dips below, crosses again later.
    assert labels_to_reach([100, 200, 300, 400], [40, 120, 30, 90], 60) == pytest.approx(125.0)


def test_labels_to_reach_never() -> None:
    assert labels_to_reach([100, 200, 300], [50, 55, 59.9], 60) is None


def test_labels_to_reach_rejects_bad_curves() -> None:
    with pytest.raises(ValueError):
        labels_to_reach([100, 200], [50], 60)
    with pytest.raises(ValueError):
        labels_to_reach([200, 100], [50, 60], 60)


def test_label_savings_by_hand() -> None:
    random_curve = ([100, 200, 300], [40, 50, 60])  # final: 60 at 300 labels
    strategy = ([100, 200, 300], [50, 70, 80])  # reaches 60 at 150
    assert label_savings(strategy, random_curve) == pytest.approx(300 - 150)


def test_label_savings_negative_and_none() -> None:
    random_curve = ([100, 200], [40, 60])  # final: 60 at 200 labels
    slower = ([100, 200, 300, 400], [30, 40, 50, 70])  # reaches 60 at 350
    assert label_savings(slower, random_curve) == pytest.approx(200 - 350)
    never = ([100, 200, 300], [30, 40, 50])
    assert label_savings(never, random_curve) is None


def test_label_savings_of_random_against_itself_is_zero_for_a_rising_curve() -> None:
    curve = ([100, 200, 300], [40, 50, 60])
    assert label_savings(curve, curve) == pytest.approx(0.0)


def test_area_under_budget_curve_trapezoid_by_hand() -> None:
    # Trapezoids: (40+60)/2*100 = 5000 and (60+70)/2*200 = 13000; span 300 -> 18000/300 = 60.
    assert area_under_budget_curve([100, 200, 400], [40, 60, 70]) == pytest.approx(60.0)
    assert area_under_budget_curve([100], [42.0]) == pytest.approx(42.0)


def test_t_critical_matches_textbook_values() -> None:
    # Two-sided 95% critical values of Student's t from a printed table (df = 1, 10, 30, 120).
    assert t_critical(1) == pytest.approx(12.706, abs=1e-3)
    assert t_critical(10) == pytest.approx(2.228, abs=1e-3)
    assert t_critical(30) == pytest.approx(2.042, abs=1e-3)
    assert t_critical(120) == pytest.approx(1.980, abs=1e-3)  # not yet the normal 1.96
    with pytest.raises(ValueError):
        t_critical(0)


# --------------------------------------------------------------------------- fake runs

BUDGET = [100, 200, 300]


def _config(strategy: str, seed: int, per_round: int = 100, **extra: object) -> dict:
    return {
        "seed": seed,
        "strategy": {"name": strategy},
        "dataset": {"name": "squad"},
        "model": {"name": "minilm"},
        "budget": {"initial": 100, "per_round": per_round, "quota": 200},
        "output_dir": f"/runs/{strategy}/{seed}/{per_round}",  # differs per run, never a sweep
        "hydra": {"job": {"num": seed}},
        "logger": {"name": f"{strategy}-seed{seed}", "tags": [strategy]},  # as conf/logger
        **extra,
    }


def write_run(
    run_dir: Path,
    config: dict,
    f1: list[float],
    em: list[float],
    n_labeled: list[int] | None = None,
    finished: bool = True,
    planned_rounds: int | None = 3,
) -> Path:
    """Write a results.json like an alqa run does (stored AUBCs deliberately wrong)."""
    n_labeled = n_labeled or BUDGET[: len(f1)]
    rounds = [
        {
            "round": i,
            "n_labeled": n,
            "em": e,
            "f1": f,
            "train_seconds": 1.0,
            "eval_seconds": 0.5,
            "score_seconds": 0.0,
            "select_seconds": 0.0,
            "selected_ids": [f"q{i}"],
        }
        for i, (n, f, e) in enumerate(zip(n_labeled, f1, em, strict=True))
    ]
    run_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "config": config,
        "rounds": rounds,
        "aubc_em": -1.0,
        "aubc_f1": -1.0,
        "finished": finished,
    }
    if planned_rounds is not None:
        data["planned_rounds"] = planned_rounds
    path = run_dir / "results.json"
    path.write_text(json.dumps(data))
    return path


def trapezoid_aubc(x: list[float], y: list[float]) -> float:
    area = sum((x[i + 1] - x[i]) * (y[i] + y[i + 1]) / 2 for i in range(len(x) - 1))
    return area / (x[-1] - x[0])


def read_csv(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as fh:
        return {row["group"]: row for row in csv.DictReader(fh)}


# strategy -> seed -> (f1 curve, em curve) on BUDGET
CURVES = {
    "margin": {0: ([50, 70, 80], [40, 60, 70]), 1: ([52, 68, 84], [42, 58, 72])},
    "entropy": {0: ([45, 58, 66], [35, 48, 56]), 1: ([47, 60, 64], [37, 50, 54])},
    "random": {0: ([40, 50, 60], [30, 40, 50]), 1: ([44, 52, 62], [34, 42, 52])},
}


@pytest.fixture()
def no_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip rendering (~0.4 s per call) in tests about the numbers; two tests keep real plots."""
    monkeypatch.setattr(alqa.compare.cli, "plot_learning_curves", lambda *args, **kwargs: [])


@pytest.fixture()
def multirun(tmp_path: Path) -> Path:
    """A Hydra-like multirun: <dir>/<job>/results.json plus multirun.yaml."""
    root = tmp_path / "multirun" / "2026-11-23" / "16-00-00"
    job = 0
    for strategy, seeds in CURVES.items():
        for seed, (f1, em) in seeds.items():
            write_run(root / str(job), _config(strategy, seed), f1, em)
            job += 1
    (root / "multirun.yaml").write_text("hydra: {}\n")
    return root


def test_end_to_end_files_and_numbers(
    multirun: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert main([str(multirun), "--out", str(out)]) == 0

    for name in ("learning_curve.png", "learning_curve.svg", "comparison.md", "comparison.csv"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (out / "learning_curve.svg").read_text()

    rows = read_csv(out / "comparison.csv")
    # Only the strategy differs (seed, output_dir, hydra.*, lists are not sweep axes).
    assert set(rows) == {"margin", "entropy", "random"}

    for strategy, seeds in CURVES.items():
        row = rows[strategy]
        assert row["n_seeds"] == "2"
        (f1_a, em_a), (f1_b, em_b) = seeds[0], seeds[1]
        aubc_a, aubc_b = trapezoid_aubc(BUDGET, f1_a), trapezoid_aubc(BUDGET, f1_b)
        assert float(row["aubc_f1_mean"]) == pytest.approx((aubc_a + aubc_b) / 2, abs=1e-4)
        # n = 2: half-width = t_{0.975,1} * s / sqrt(2) = t * |a - b| / 2.
        assert float(row["aubc_f1_ci"]) == pytest.approx(T_DF1 * abs(aubc_a - aubc_b) / 2, rel=1e-4)
        aubc_em = (trapezoid_aubc(BUDGET, em_a) + trapezoid_aubc(BUDGET, em_b)) / 2
        assert float(row["aubc_em_mean"]) == pytest.approx(aubc_em, abs=1e-4)
        assert float(row["final_f1_mean"]) == pytest.approx((f1_a[-1] + f1_b[-1]) / 2, abs=1e-4)
        assert float(row["final_f1_ci"]) == pytest.approx(
            T_DF1 * abs(f1_a[-1] - f1_b[-1]) / 2, rel=1e-4
        )
        assert float(row["final_em_mean"]) == pytest.approx((em_a[-1] + em_b[-1]) / 2, abs=1e-4)

    # Savings on mean curves. Random mean F1: [42, 51, 61] -> target 61 at 300 labels.
    # margin mean F1 [51, 69, 82]: 100 + (61-51)/(69-51)*100 = 155.56 -> 144.44 labels saved.
    assert float(rows["margin"]["label_savings_f1"]) == pytest.approx(300 - (100 + 1000 / 18), 1e-4)
    # entropy mean F1 [46, 59, 65]: 200 + (61-59)/(65-59)*100 = 233.33 -> 66.67 saved.
    assert float(rows["entropy"]["label_savings_f1"]) == pytest.approx(300 - (200 + 200 / 6), 1e-4)
    assert float(rows["random"]["label_savings_f1"]) == 0.0
    assert rows["margin"]["random_reference"] == "random"

    stdout = capsys.readouterr().out
    assert "| group |" in stdout and "| margin | 2 |" in stdout
    assert "+144" in stdout and "+67" in stdout
    for name in ("learning_curve.png", "comparison.csv"):
        assert str(out / name) in stdout
    md = (out / "comparison.md").read_text()
    # margin AUBC F1 by hand: seed 0 (60+75)/2 = 67.5, seed 1 (60+76)/2 = 68 -> 67.75 ± 12.706*0.25.
    assert "| margin | 2 | 67.8 ± 3.2 |" in md


def test_default_out_is_the_first_directory_and_files_can_be_passed(
    multirun: Path, tmp_path: Path
) -> None:
    assert main([str(multirun)]) == 0
    assert (multirun / "comparison.csv").is_file()

    single = multirun / "0" / "results.json"
    out = tmp_path / "single"
    assert main([str(single), str(multirun / "4"), "--out", str(out)]) == 0
    rows = read_csv(out / "comparison.csv")
    assert rows["margin"]["n_seeds"] == "1"
    assert rows["random"]["n_seeds"] == "1"


@pytest.mark.usefixtures("no_plots")
def test_one_seed_has_empty_ci(tmp_path: Path) -> None:
    write_run(tmp_path / "runs" / "a", _config("margin", 0), [50, 70, 80], [40, 60, 70])
    write_run(tmp_path / "runs" / "b", _config("random", 0), [40, 50, 60], [30, 40, 50])
    out = tmp_path / "out"
    assert main([str(tmp_path / "runs"), "--out", str(out)]) == 0
    row = read_csv(out / "comparison.csv")["margin"]
    assert row["n_seeds"] == "1"
    assert row["aubc_f1_ci"] == "" and row["final_f1_ci"] == "" and row["final_em_ci"] == ""
    assert float(row["final_f1_mean"]) == pytest.approx(80.0)
    md = (out / "comparison.md").read_text()
    assert "| margin | 1 | 67.5 | 57.5 | 80.0 | 70.0 |" in md  # no "±" without a CI


@pytest.mark.usefixtures("no_plots")
def test_stopped_early_run_is_noted_and_aubc_recomputed(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs / "0", _config("margin", 0), [50, 70, 80], [40, 60, 70])
    # Unfinished, no planned_rounds recorded: the finished flag alone marks it.
    write_run(
        runs / "1", _config("margin", 1), [60, 90], [50, 80], finished=False, planned_rounds=None
    )
    write_run(runs / "2", _config("random", 0), [40, 50, 60], [30, 40, 50])
    out = tmp_path / "out"
    assert main([str(runs), "--out", str(out)]) == 0
    rows = read_csv(out / "comparison.csv")
    assert "1 of 2 runs stopped early" in rows["margin"]["note"]
    assert rows["random"]["note"] == ""
    # Seed 1's AUBC from its two rounds: (60+90)/2 = 75; seed 0: 67.5.
    assert float(rows["margin"]["aubc_f1_mean"]) == pytest.approx((67.5 + 75.0) / 2, abs=1e-4)
    assert float(rows["margin"]["final_f1_mean"]) == pytest.approx((80 + 90) / 2, abs=1e-4)
    # Mean curve uses the runs that reached each budget: [55, 80, 80]; random final 60 at 300
    # -> reached at 100 + 5/25*100 = 120 -> 180 saved.
    assert float(rows["margin"]["label_savings_f1"]) == pytest.approx(180.0, abs=1e-4)
    assert "1 of 2 runs stopped early" in (out / "comparison.md").read_text()


@pytest.mark.usefixtures("no_plots")
def test_fewer_rounds_than_planned_counts_as_stopped_early(tmp_path: Path) -> None:
    write_run(tmp_path / "r" / "0", _config("margin", 0), [50, 70], [40, 60], planned_rounds=5)
    assert main([str(tmp_path / "r"), "--out", str(tmp_path / "o")]) == 0
    rows = read_csv(tmp_path / "o" / "comparison.csv")
    assert "1 of 1 runs stopped early" in rows["margin"]["note"]
    assert rows["margin"]["label_savings_status"] == "no random baseline"
    assert rows["margin"]["label_savings_f1"] == ""
    assert "no random baseline" in (tmp_path / "o" / "comparison.md").read_text()


@pytest.mark.usefixtures("no_plots")
def test_not_reached_is_reported(tmp_path: Path) -> None:
    write_run(tmp_path / "r" / "0", _config("bald", 0), [10, 20, 30], [5, 10, 15])
    write_run(tmp_path / "r" / "1", _config("random", 0), [40, 50, 60], [30, 40, 50])
    assert main([str(tmp_path / "r"), "--out", str(tmp_path / "o")]) == 0
    row = read_csv(tmp_path / "o" / "comparison.csv")["bald"]
    assert row["label_savings_status"] == "not reached" and row["label_savings_f1"] == ""
    assert "| not reached |" in (tmp_path / "o" / "comparison.md").read_text()


@pytest.mark.usefixtures("no_plots")
def test_metric_em_uses_em_for_savings(tmp_path: Path) -> None:
    # EM: random final 50 at 300; margin EM [40, 60, 70] reaches 50 at 150 -> 150 saved.
    write_run(tmp_path / "r" / "0", _config("margin", 0), [50, 70, 80], [40, 60, 70])
    write_run(tmp_path / "r" / "1", _config("random", 0), [40, 50, 60], [30, 40, 50])
    assert main([str(tmp_path / "r"), "--out", str(tmp_path / "o"), "--metric", "em"]) == 0
    row = read_csv(tmp_path / "o" / "comparison.csv")["margin"]
    assert float(row["label_savings_em"]) == pytest.approx(150.0)


@pytest.mark.usefixtures("no_plots")
def test_swept_key_is_auto_detected_and_random_matched(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    job = 0
    for per_round in (50, 100):
        for strategy in ("margin", "random"):
            for seed in (0, 1):
                final = 60 + per_round / 10 + seed + (10 if strategy == "margin" else 0)
                write_run(
                    runs / str(job),
                    _config(strategy, seed, per_round=per_round),
                    [40, 50, final],
                    [30, 40, final - 10],
                )
                job += 1
    out = tmp_path / "out"
    assert main([str(runs), "--out", str(out)]) == 0
    rows = read_csv(out / "comparison.csv")
    assert set(rows) == {
        "margin | budget.per_round=50",
        "margin | budget.per_round=100",
        "random | budget.per_round=50",
        "random | budget.per_round=100",
    }
    assert rows["margin | budget.per_round=50"]["budget.per_round"] == "50"
    assert rows["margin | budget.per_round=50"]["n_seeds"] == "2"
    assert (
        rows["margin | budget.per_round=50"]["random_reference"] == "random | budget.per_round=50"
    )
    assert (
        rows["margin | budget.per_round=100"]["random_reference"] == "random | budget.per_round=100"
    )
    # per_round=50: random mean final 65.5 at 300; margin mean [40, 50, 75.5] -> reaches 65.5 at
    # 200 + 15.5/25.5*100 -> saved 100 - 60.78 = 39.2.
    saved = float(rows["margin | budget.per_round=50"]["label_savings_f1"])
    assert saved == pytest.approx(100 - 1550 / 25.5, abs=1e-3)

    # --group-by with no keys pools the two budgets per strategy.
    out2 = tmp_path / "out2"
    assert main([str(runs), "--out", str(out2), "--group-by"]) == 0
    rows = read_csv(out2 / "comparison.csv")
    assert set(rows) == {"margin", "random"}
    assert rows["margin"]["n_seeds"] == "4"


@pytest.mark.usefixtures("no_plots")
def test_group_by_explicit_key(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs / "0", _config("margin", 0, lr=1e-4), [50, 70, 80], [40, 60, 70])
    write_run(runs / "1", _config("margin", 1, lr=3e-4), [50, 70, 80], [40, 60, 70])
    write_run(runs / "2", _config("random", 0, lr=1e-4), [40, 50, 60], [30, 40, 50])
    out = tmp_path / "out"
    assert main([str(runs), "--out", str(out), "--group-by", "model.name"]) == 0
    rows = read_csv(out / "comparison.csv")
    assert set(rows) == {"margin | model.name=minilm", "random | model.name=minilm"}
    assert rows["margin | model.name=minilm"]["n_seeds"] == "2"

    # Auto-detection would have split on lr instead.
    assert main([str(runs), "--out", str(out)]) == 0
    assert set(read_csv(out / "comparison.csv")) == {
        "margin | lr=0.0001",
        "margin | lr=0.0003",
        "random | lr=0.0001",
    }


def test_group_by_unknown_key_is_an_error(
    multirun: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(multirun), "--out", str(tmp_path), "--group-by", "budget.nope"]) == 2
    assert "budget.nope" in capsys.readouterr().err


def test_malformed_results_json_exits_2_naming_the_file(
    multirun: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = multirun / "9" / "results.json"
    bad.parent.mkdir()
    bad.write_text('{"config": {"strategy": {"name": "margin"}}, "rounds": [')
    assert main([str(multirun), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "expected" in err
    assert not (tmp_path / "o" / "comparison.csv").exists()


@pytest.mark.parametrize(
    "payload",
    [
        [1, 2, 3],
        {"config": {"strategy": {"name": "margin"}}, "rounds": "none"},
        {"config": {"seed": 0}, "rounds": [{"n_labeled": 100, "f1": 1.0, "em": 1.0}]},
        {"config": {"strategy": {"name": "margin"}}, "rounds": [{"n_labeled": 100, "f1": 1.0}]},
    ],
)
def test_structurally_wrong_results_exit_2(
    tmp_path: Path, payload: object, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "run" / "results.json"
    path.parent.mkdir()
    path.write_text(json.dumps(payload))
    assert main([str(tmp_path / "run"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert str(path.resolve()) in err and "expected" in err


def test_python_dash_m_and_the_console_script_entry_point(tmp_path: Path) -> None:
    """The package keeps both ways in: ``python -m alqa.compare`` and ``alqa.compare:main``."""
    done = subprocess.run(
        [sys.executable, "-m", "alqa.compare", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 2
    assert done.stderr.startswith("alqa-compare: error: ") and done.stderr.count("\n") == 1
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    module, _, name = pyproject["project"]["scripts"]["alqa-compare"].partition(":")
    assert getattr(importlib.import_module(module), name) is main


def test_no_results_found_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main([str(empty)]) == 2
    err = capsys.readouterr().err
    assert str(empty) in err and "results.json" in err
    assert main([str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err


@pytest.mark.usefixtures("no_plots")
def test_ci_half_width_for_three_seeds(tmp_path: Path) -> None:
    finals = [70.0, 74.0, 81.0]
    for seed, final in enumerate(finals):
        write_run(tmp_path / "r" / str(seed), _config("margin", seed), [50, 60, final], [1, 2, 3])
    assert main([str(tmp_path / "r"), "--out", str(tmp_path / "o")]) == 0
    row = read_csv(tmp_path / "o" / "comparison.csv")["margin"]
    mean = sum(finals) / 3
    sd = math.sqrt(sum((f - mean) ** 2 for f in finals) / 2)
    assert float(row["final_f1_mean"]) == pytest.approx(mean, abs=1e-4)
    assert float(row["final_f1_ci"]) == pytest.approx(4.303 * sd / math.sqrt(3), rel=1e-3)


@pytest.mark.usefixtures("no_plots")
def test_runs_without_rounds_are_skipped_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run(tmp_path / "r" / "0", _config("margin", 0), [50, 70, 80], [40, 60, 70])
    empty = write_run(tmp_path / "r" / "1", _config("margin", 1), [], [], finished=False)
    assert main([str(tmp_path / "r"), "--out", str(tmp_path / "o")]) == 0
    assert str(empty) in capsys.readouterr().err
    assert read_csv(tmp_path / "o" / "comparison.csv")["margin"]["n_seeds"] == "1"

    only_empty = tmp_path / "only_empty"
    write_run(only_empty / "0", _config("margin", 0), [], [], finished=False)
    assert main([str(only_empty), "--out", str(tmp_path / "o2")]) == 2


def _model_config(strategy: str, seed: int, model: str, **strategy_extra: object) -> dict:
    config = _config(strategy, seed)
    config["strategy"].update(strategy_extra)
    lr = {"minilm": 3e-4, "bert": 5e-5}[model]
    config["model"] = {"name": model, "name_or_path": f"hub/{model}", "learning_rate": lr}
    config["train"] = {"learning_rate": lr, "device": "auto"}
    return config


@pytest.mark.usefixtures("no_plots")
def test_keys_that_follow_a_swept_key_are_not_separate_axes(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    job = 0
    for model in ("minilm", "bert"):
        for strategy in ("margin", "random"):
            for seed in (0, 1):
                # strategy._target_-like keys differ between strategies only: not an axis.
                extra = {"temperature": 1.0} if strategy == "margin" else {}
                config = _model_config(strategy, seed, model, **extra)
                write_run(runs / str(job), config, [50, 60, 70], [40, 50, 60])
                job += 1
    out = tmp_path / "out"
    assert main([str(runs), "--out", str(out)]) == 0
    rows = read_csv(out / "comparison.csv")
    assert set(rows) == {
        "margin | model.name=bert",
        "margin | model.name=minilm",
        "random | model.name=bert",
        "random | model.name=minilm",
    }
    assert all(row["n_seeds"] == "2" for row in rows.values())
    assert rows["margin | model.name=bert"]["random_reference"] == "random | model.name=bert"


@pytest.mark.usefixtures("no_plots")
def test_strategy_hyperparameter_swept_within_a_strategy_is_an_axis(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for i, temperature in enumerate((0.5, 2.0)):
        config = _model_config("margin", 0, "minilm", temperature=temperature)
        write_run(runs / str(i), config, [50, 60, 70], [40, 50, 60])
    write_run(runs / "9", _model_config("random", 0, "minilm"), [40, 50, 60], [30, 40, 50])
    out = tmp_path / "out"
    assert main([str(runs), "--out", str(out)]) == 0
    rows = read_csv(out / "comparison.csv")
    assert set(rows) == {
        "margin | strategy.temperature=0.5",
        "margin | strategy.temperature=2.0",
        "random",  # temperature is margin's hyperparameter, not random's
    }
    # random has no temperature, yet it is the exact baseline (strategy keys are not matched)
    assert rows["margin | strategy.temperature=0.5"]["note"] == ""
    # random's final 60 at 300 labels; margin reaches 60 at its 200-label round -> 100 saved
    assert float(rows["margin | strategy.temperature=0.5"]["label_savings_f1"]) == pytest.approx(
        100.0
    )


@pytest.mark.usefixtures("no_plots")
def test_random_baseline_fallback_is_noted(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs / "0", _model_config("margin", 0, "bert"), [50, 60, 70], [40, 50, 60])
    write_run(runs / "1", _model_config("margin", 0, "minilm"), [50, 60, 70], [40, 50, 60])
    write_run(runs / "2", _model_config("random", 0, "minilm"), [40, 50, 60], [30, 40, 50])
    out = tmp_path / "out"
    assert main([str(runs), "--out", str(out)]) == 0
    rows = read_csv(out / "comparison.csv")
    bert = rows["margin | model.name=bert"]
    assert bert["random_reference"] == "random | model.name=minilm"
    assert "differs in model.name" in bert["note"]
    assert rows["margin | model.name=minilm"]["note"] == ""
