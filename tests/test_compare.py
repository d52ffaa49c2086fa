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
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgba
from scipy import stats

import alqa.compare.cli
from alqa.compare import (
    drop_repeats,
    find_result_files,
    group_runs,
    learning_curve_figure,
    load_runs,
    main,
    pair_by_seed,
    paired_delta,
    t_critical,
)
from alqa.curves import area_under_budget_curve, label_savings, labels_to_reach
from alqa.results import RoundRecord, results_document
from alqa.state import PendingQuery, RunState

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


def test_label_savings_count_from_where_a_dipping_random_curve_first_reached_its_end() -> None:
    random_curve = ([100, 200, 300], [40, 60, 55])  # its final 55 was first reached at 175
    assert label_savings(random_curve, random_curve) == pytest.approx(0.0)
    same_as_random = ([100, 200, 300], [40, 60, 50])  # reaches 55 at 175 too: saved nothing
    assert label_savings(same_as_random, random_curve) == pytest.approx(0.0)
    faster = ([100, 200, 300], [55, 60, 70])  # reaches 55 at 100
    assert label_savings(faster, random_curve) == pytest.approx(175 - 100)


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
    # Each seed appears once per budget: every run pairs with the random run of its own seed
    # and budget (margin's final is random's + 10 there), none is a "duplicate seed".
    assert rows["margin"]["paired_n_seeds"] == "4"
    assert float(rows["margin"]["paired_delta_final_f1"]) == pytest.approx(10.0)
    assert rows["margin"]["note"] == ""
    # Both groups cover the same two experiments, so their mean curves compare: random's mean
    # final (65 + 66 + 70 + 71) / 4 = 68 at 300; margin's mean [40, 50, 78] reaches it at
    # 200 + 18/28 * 100.
    saved = float(rows["margin"]["label_savings_f1"])
    assert saved == pytest.approx(100 - 1800 / 28, abs=1e-3)


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
    margin = rows["margin | model.name=minilm"]
    assert margin["n_seeds"] == "2"
    # margin pools lr 1e-4 and 3e-4, random only ran 1e-4: no mean-curve savings, and only the
    # seed with a random run of the same lr is paired.
    assert margin["label_savings_f1"] == ""
    assert margin["label_savings_status"] == "random's runs are other experiments"
    assert "no mean-curve label savings" in margin["note"] and "differ in lr" in margin["note"]
    assert margin["paired_n_seeds"] == "1"
    assert "seed 1 (no random run)" in margin["note"]

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


def write_unevaluated_run(run_dir: Path, config: dict, n_labeled: list[int]) -> Path:
    """results.json of a run without an evaluation set, written by alqa's own writers: the
    round records get no metrics (evaluate_round returns none), so f1/em are absent."""
    rounds = [
        RoundRecord(i, n, {}, 1.0, 10, 1.0, 0.0, 0.0, 0.0, [f"q{i}"]).to_json()
        for i, n in enumerate(n_labeled)
    ]
    state = RunState(config, PendingQuery([]), {}, rounds=rounds, finished=True)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "results.json"
    path.write_text(json.dumps(results_document(state, planned_rounds=len(n_labeled))))
    return path


NO_EVAL_WORDS = ("no evaluation set", "no learning curve to compare", "dataset.eval_file=")


def test_a_run_without_evaluation_set_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_unevaluated_run(tmp_path / "team" / "0", _config("margin", 0), BUDGET)
    data = json.loads(path.read_text())
    assert "f1" not in data["rounds"][0] and data["aubc_f1"] is None  # as alqa writes it
    assert main([str(tmp_path / "team"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("alqa-compare: error: ") and err.count("\n") == 1
    assert str(path.resolve()) in err
    assert all(words in err for words in NO_EVAL_WORDS)
    assert "not a finite number" not in err
    assert not (tmp_path / "o" / "comparison.csv").exists()


@pytest.mark.usefixtures("no_plots")
def test_runs_without_evaluation_set_are_skipped_among_comparable_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    write_run(runs / "0", _config("margin", 0), [50, 70, 80], [40, 60, 70])
    write_run(runs / "1", _config("random", 0), [40, 50, 60], [30, 40, 50])
    team = write_unevaluated_run(runs / "2", _config("margin", 1), BUDGET)
    assert main([str(runs), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    warning = next(line for line in err.splitlines() if str(team.resolve()) in line)
    assert warning.startswith("alqa-compare: warning: ") and warning.endswith("skipped")
    assert all(words in warning for words in NO_EVAL_WORDS)
    rows = read_csv(tmp_path / "o" / "comparison.csv")
    assert rows["margin"]["n_seeds"] == "1" and rows["random"]["n_seeds"] == "1"
    # random's final 60 at 300; margin's seed 0 reaches it at 150
    assert float(rows["margin"]["label_savings_f1"]) == pytest.approx(150.0)


def test_scores_that_are_null_are_still_a_malformed_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only absent scores mean "no evaluation set"; null or NaN ones are a damaged file."""
    path = write_run(tmp_path / "r" / "0", _config("margin", 0), [50, 70, 80], [40, 60, 70])
    data = json.loads(path.read_text())
    for record in data["rounds"]:
        record["f1"] = record["em"] = None
    path.write_text(json.dumps(data))
    assert main([str(tmp_path / "r"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "rounds[0].f1 is missing or not a finite number" in err
    assert "no evaluation set" not in err


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
def test_random_group_of_another_experiment_is_no_baseline(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs / "0", _model_config("margin", 0, "bert"), [50, 60, 70], [40, 50, 60])
    write_run(runs / "1", _model_config("margin", 0, "minilm"), [50, 60, 70], [40, 50, 60])
    write_run(runs / "2", _model_config("random", 0, "minilm"), [40, 50, 60], [30, 40, 50])
    out = tmp_path / "out"
    assert main([str(runs), "--out", str(out)]) == 0
    rows = read_csv(out / "comparison.csv")
    # Only random with minilm exists: bert's row is measured against nothing, and says so.
    bert = rows["margin | model.name=bert"]
    assert bert["random_reference"] == ""
    assert bert["label_savings_f1"] == ""
    assert bert["label_savings_status"] == "no random baseline of the same experiment"
    assert all(bert[c] == "" for c in PAIRED_COLUMNS)
    assert "closest random group 'random | model.name=minilm' differs in model.name" in bert["note"]
    md = (out / "comparison.md").read_text()
    bert_line = next(
        line for line in md.splitlines() if line.startswith("| margin \\| model.name=bert")
    )
    assert "| no random baseline of the same experiment |" in bert_line
    assert "differs in model.name" in bert_line

    # The same-experiment row is untouched: random's final 60 at 300, margin reaches it at 200.
    minilm = rows["margin | model.name=minilm"]
    assert minilm["note"] == "" and minilm["random_reference"] == "random | model.name=minilm"
    assert float(minilm["label_savings_f1"]) == pytest.approx(100.0)
    assert float(minilm["paired_delta_final_f1"]) == pytest.approx(70.0 - 60.0)


# --------------------------------------------------------------------------- paired vs random

PAIRED_COLUMNS = [
    "paired_n_seeds",
    "paired_delta_aubc_f1",
    "paired_delta_ci95",
    "paired_p_value",
    "paired_wilcoxon_p_value",
    "paired_delta_final_f1",
    "paired_delta_final_f1_ci95",
    "paired_final_f1_p_value",
    "paired_final_f1_wilcoxon_p_value",
    "paired_label_savings_mean",
    "paired_label_savings_ci95",
    "paired_label_savings_not_reached",
]


def random_f1(seed: int) -> list[float]:
    """Random's curve for a seed: a strong seed effect that pairing must cancel."""
    return [30.0 + 7 * seed, 45.0 + 6 * seed, 55.0 + 5 * seed]


def shifted(curve: list[float], by: list[float]) -> list[float]:
    return [y + d for y, d in zip(curve, by, strict=True)]


def write_paired_sweep(
    runs: Path, seeds: list[int], strategies: dict[str, Callable[[int], list[float]]]
) -> None:
    """One random run per seed plus, per strategy, a run per seed from ``curve(seed)``."""
    job = 0
    for seed in seeds:
        f1 = random_f1(seed)
        write_run(runs / str(job), _config("random", seed), f1, [y - 10 for y in f1])
        job += 1
        for name, curve in strategies.items():
            f1 = curve(seed)
            write_run(runs / str(job), _config(name, seed), f1, [y - 10 for y in f1])
            job += 1


def expected_paired(strategy: list[float], random: list[float]) -> tuple[float, float, float]:
    """Mean difference, 95% t half-width and paired t-test p, computed here with numpy/scipy."""
    diff = [s - r for s, r in zip(strategy, random, strict=True)]
    n = len(diff)
    mean = sum(diff) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diff) / (n - 1))
    half = float(stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, half, float(stats.ttest_rel(strategy, random).pvalue)


@pytest.mark.usefixtures("no_plots")
def test_paired_deltas_better_worse_and_identical(tmp_path: Path) -> None:
    seeds = [0, 1, 2, 3]
    strategies = {
        # better on every seed, by a seed-dependent amount (so the differences have a spread)
        "margin": lambda s: shifted(random_f1(s), [4 + s, 6 + s, 5 + 2 * s]),
        # worse on every seed
        "bald": lambda s: shifted(random_f1(s), [-3 - s % 2, -5, -2 - s]),
        # exactly random's curve on every seed
        "copycat": random_f1,
    }
    write_paired_sweep(tmp_path / "runs", seeds, strategies)
    out = tmp_path / "out"
    assert main([str(tmp_path / "runs"), "--out", str(out)]) == 0
    rows = read_csv(out / "comparison.csv")

    random_aubc = [trapezoid_aubc(BUDGET, random_f1(s)) for s in seeds]
    random_final = [random_f1(s)[-1] for s in seeds]
    for name in ("margin", "bald"):
        row = rows[name]
        assert row["paired_n_seeds"] == "4"
        curves = [strategies[name](s) for s in seeds]
        mean, half, p = expected_paired([trapezoid_aubc(BUDGET, c) for c in curves], random_aubc)
        assert float(row["paired_delta_aubc_f1"]) == pytest.approx(mean, abs=1e-5)
        assert float(row["paired_delta_ci95"]) == pytest.approx(half, rel=1e-5)
        assert float(row["paired_p_value"]) == pytest.approx(p, rel=1e-4)
        mean, half, p = expected_paired([c[-1] for c in curves], random_final)
        assert float(row["paired_delta_final_f1"]) == pytest.approx(mean, abs=1e-5)
        assert float(row["paired_delta_final_f1_ci95"]) == pytest.approx(half, rel=1e-5)
        assert float(row["paired_final_f1_p_value"]) == pytest.approx(p, rel=1e-4)
        assert row["paired_wilcoxon_p_value"] == ""  # 4 pairs: below the Wilcoxon minimum

    margin, bald = rows["margin"], rows["bald"]
    delta, half = float(margin["paired_delta_aubc_f1"]), float(margin["paired_delta_ci95"])
    assert delta - half > 0 and float(margin["paired_p_value"]) < 0.01  # CI excludes 0
    delta, half = float(bald["paired_delta_aubc_f1"]), float(bald["paired_delta_ci95"])
    assert delta + half < 0 and float(bald["paired_p_value"]) < 0.05

    # Identical curves: delta 0 with a zero-width interval and p = 1 (no evidence at all).
    same = rows["copycat"]
    assert float(same["paired_delta_aubc_f1"]) == 0.0
    assert float(same["paired_delta_ci95"]) == 0.0
    assert float(same["paired_p_value"]) == 1.0
    assert float(same["paired_label_savings_mean"]) == 0.0

    # The unpaired interval is wide (seed effect), the paired one is not: pairing matters.
    assert float(margin["aubc_f1_ci"]) > 5 * float(margin["paired_delta_ci95"])

    md = (out / "comparison.md").read_text()
    assert "paired Δ AUBC F1 vs random" in md and "paired t-test" in md
    mean, half, p = expected_paired(
        [trapezoid_aubc(BUDGET, strategies["margin"](s)) for s in seeds], random_aubc
    )
    assert f"| {mean:+.1f} ± {half:.1f} (p={p:.3f}) |" in md
    assert "| +0.0 ± 0.0 (p=1.000) |" in md


@pytest.mark.usefixtures("no_plots")
def test_paired_columns_exist_and_are_empty_for_random_and_without_pairs(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs / "0", _config("random", 0), [40, 50, 60], [30, 40, 50])
    write_run(runs / "1", _config("margin", 0), [50, 70, 80], [40, 60, 70])
    write_run(runs / "2", _config("entropy", 7), [50, 70, 80], [40, 60, 70])  # no random seed 7
    out = tmp_path / "out"
    assert main([str(runs), "--out", str(out)]) == 0
    with (out / "comparison.csv").open(newline="") as fh:
        header = next(csv.reader(fh))
    assert set(PAIRED_COLUMNS) <= set(header)
    rows = read_csv(out / "comparison.csv")
    assert all(rows["random"][c] == "" for c in PAIRED_COLUMNS)
    assert all(rows["entropy"][c] == "" for c in PAIRED_COLUMNS)
    assert "seed 7 (no random run)" in rows["entropy"]["note"]

    # A single pair: the difference, but no interval and no p-value.
    margin = rows["margin"]
    assert margin["paired_n_seeds"] == "1"
    assert float(margin["paired_delta_aubc_f1"]) == pytest.approx(67.5 - 50.0)
    assert float(margin["paired_delta_final_f1"]) == pytest.approx(80.0 - 60.0)
    for column in ("paired_delta_ci95", "paired_p_value", "paired_wilcoxon_p_value"):
        assert margin[column] == ""
    assert "| +17.5 |" in (out / "comparison.md").read_text()


@pytest.mark.usefixtures("no_plots")
def test_pairing_is_by_seed_not_by_order_and_unpaired_seeds_are_reported(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    # Random's jobs in another seed order than margin's, and no random run for seed 3.
    for job, seed in enumerate([2, 0, 1]):
        f1 = random_f1(seed)
        write_run(runs / f"r{job}", _config("random", seed), f1, f1)
    deltas = {0: 1.0, 1: 2.0, 2: 4.0, 3: 50.0}
    for seed in (0, 1, 2, 3):
        f1 = shifted(random_f1(seed if seed < 3 else 0), [deltas[seed]] * 3)
        write_run(runs / f"m{seed}", _config("margin", seed), f1, f1)
    out = tmp_path / "out"
    assert main([str(runs), "--out", str(out)]) == 0
    row = read_csv(out / "comparison.csv")["margin"]
    assert row["n_seeds"] == "4" and row["paired_n_seeds"] == "3"
    # A constant shift moves AUBC by the shift: deltas 1, 2, 4 for seeds 0-2; seed 3 left out.
    assert float(row["paired_delta_aubc_f1"]) == pytest.approx((1 + 2 + 4) / 3, abs=1e-6)
    assert float(row["paired_delta_final_f1"]) == pytest.approx((1 + 2 + 4) / 3, abs=1e-6)
    assert "not paired with random: seed 3 (no random run)" in row["note"]


@pytest.mark.usefixtures("no_plots")
def test_duplicate_seed_is_not_paired(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for seed in (0, 1):
        write_run(runs / f"r{seed}", _config("random", seed), [40, 50, 60], [30, 40, 50])
    write_run(runs / "m0", _config("margin", 0), [50, 70, 80], [40, 60, 70])
    # seed 0 again, under another strategy setting that the grouping (strategy only) pools
    other = _config("margin", 0)
    other["strategy"]["temperature"] = 2.0
    write_run(runs / "m0b", other, [45, 65, 75], [40, 60, 70])
    write_run(runs / "m1", _config("margin", 1), [41, 51, 61], [40, 60, 70])
    assert main([str(runs), "--out", str(tmp_path / "out"), "--group-by"]) == 0
    row = read_csv(tmp_path / "out" / "comparison.csv")["margin"]
    assert row["paired_n_seeds"] == "1"
    assert float(row["paired_delta_final_f1"]) == pytest.approx(1.0)
    assert "seed 0 (duplicate seed)" in row["note"]


def _two_sweeps_sharing_random(root: Path, second: str) -> None:
    """Two sweeps as the README compares them: random and one strategy each, seeds 0-2, with
    random's runs the same in both (same seeds, same experiment)."""
    for sweep, strategy, shift in (("a", "margin", 5.0), ("b", second, -2.0)):
        for seed in (0, 1, 2):
            f1 = random_f1(seed)
            write_run(root / sweep / f"r{seed}", _config("random", seed), f1, f1)
            curve = shifted(f1, [shift + seed] * 3)
            write_run(root / sweep / f"s{seed}", _config(strategy, seed), curve, curve)


@pytest.mark.usefixtures("no_plots")
def test_random_runs_repeated_by_two_sweeps_count_once_and_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_sweeps_sharing_random(tmp_path, "entropy")
    assert main([str(tmp_path / "a"), "--out", str(tmp_path / "alone")]) == 0
    alone = read_csv(tmp_path / "alone" / "comparison.csv")
    capsys.readouterr()
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out")]) == 0
    rows = read_csv(tmp_path / "out" / "comparison.csv")
    assert rows["random"]["n_seeds"] == "3"
    assert rows["random"]["aubc_f1_ci"] == alone["random"]["aubc_f1_ci"]  # not 6 "seeds"
    for name, shift in (("margin", 5.0), ("entropy", -2.0)):
        assert rows[name]["paired_n_seeds"] == "3"
        # a shift of (shift + seed) on every round moves AUBC by it: mean over seeds 0-2
        assert float(rows[name]["paired_delta_aubc_f1"]) == pytest.approx(shift + 1.0)
        assert "duplicate" not in rows[name]["note"]
    err = capsys.readouterr().err
    assert err.count("counted once") == 3 and "the same curve" in err
    assert f"{tmp_path / 'b' / 'r0' / 'results.json'} repeats" in err


def test_a_repeat_with_another_curve_keeps_the_longer_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = write_run(tmp_path / "a", _config("random", 0), [40, 50], [30, 40], finished=False)
    full = write_run(tmp_path / "b", _config("random", 0), [41, 52, 60], [30, 41, 50])
    runs = load_runs([short, full])
    kept, notes = drop_repeats(runs, [])
    assert [run.path for run in kept] == [full]
    assert notes == [
        f"{short} repeats {full} (same strategy, seed 0 and experiment; another "
        "curve): counted once"
    ]
    # a swept key tells runs apart: no repeat
    other = _config("random", 0, per_round=50)
    third = write_run(tmp_path / "c", other, [40, 50, 60], [30, 40, 50])
    kept, notes = drop_repeats(load_runs([full, third]), ["budget.per_round"])
    assert len(kept) == 2 and notes == []
    # an interrupted copy: its rounds are the longer run's first ones
    copy = write_run(tmp_path / "d", _config("random", 0), [41, 52], [30, 41], finished=False)
    _, notes = drop_repeats(load_runs([full, copy]), [])
    assert "the same curve as far as it goes" in notes[0]


@pytest.mark.usefixtures("no_plots")
def test_runs_on_other_devices_are_the_same_experiment(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for seed in (0, 1):
        f1 = random_f1(seed)
        train = {"device": "cuda:1", "eval_batch_size": 64, "epochs": 2}
        write_run(runs / f"r{seed}", _config("random", seed, train=train), f1, f1)
        train = {"device": "cuda:0", "eval_batch_size": 64, "epochs": 2}
        curve = shifted(f1, [3.0] * 3)
        write_run(runs / f"m{seed}", _config("margin", seed, train=train), curve, curve)
    assert main([str(runs), "--out", str(tmp_path / "out")]) == 0
    rows = read_csv(tmp_path / "out" / "comparison.csv")
    assert set(rows) == {"random", "margin"}  # the device is no sweep axis
    assert rows["margin"]["paired_n_seeds"] == "2"
    assert float(rows["margin"]["paired_delta_aubc_f1"]) == pytest.approx(3.0)


@pytest.mark.usefixtures("no_plots")
def test_wilcoxon_from_six_pairs_on(tmp_path: Path) -> None:
    # Strategy above random on every seed by different amounts: with n pairs all of one sign,
    # the exact two-sided signed-rank p is 2 * (1/2)^n, i.e. 2/64 for six pairs.
    def better(seed: int) -> list[float]:
        return shifted(random_f1(seed), [1.0 + seed] * 3)

    for n_seeds, expected in ((6, 2 / 2**6), (5, None)):
        runs = tmp_path / f"runs{n_seeds}"
        write_paired_sweep(runs, list(range(n_seeds)), {"margin": better})
        assert main([str(runs), "--out", str(runs)]) == 0
        row = read_csv(runs / "comparison.csv")["margin"]
        assert row["paired_n_seeds"] == str(n_seeds)
        if expected is None:
            assert row["paired_wilcoxon_p_value"] == ""
            assert row["paired_final_f1_wilcoxon_p_value"] == ""
        else:
            assert float(row["paired_wilcoxon_p_value"]) == pytest.approx(expected)
            assert float(row["paired_final_f1_wilcoxon_p_value"]) == pytest.approx(expected)
        assert row["paired_p_value"] != ""


@pytest.mark.usefixtures("no_plots")
def test_per_seed_label_savings_with_interval_and_not_reached(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    curves = {0: [50, 70, 80], 1: [40, 60, 70], 2: [30, 40, 50]}
    for seed, f1 in curves.items():
        write_run(runs / f"r{seed}", _config("random", seed), [40, 50, 60], [30, 40, 50])
        write_run(runs / f"m{seed}", _config("margin", seed), f1, f1)
    assert main([str(runs), "--out", str(tmp_path / "out")]) == 0
    row = read_csv(tmp_path / "out" / "comparison.csv")["margin"]
    # Random's final 60 at 300 labels. Seed 0 reaches 60 at 150 (saves 150), seed 1 at its
    # 200-label round (saves 100), seed 2 never: mean 125, half-width t(1) * |150-100| / 2.
    assert float(row["paired_label_savings_mean"]) == pytest.approx(125.0)
    assert float(row["paired_label_savings_ci95"]) == pytest.approx(T_DF1 * 25.0, rel=1e-4)
    assert row["paired_label_savings_not_reached"] == "1"


@pytest.mark.usefixtures("no_plots")
def test_pair_with_a_run_that_stopped_early_is_compared_on_common_budgets(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs / "r0", _config("random", 0), [40, 50, 60], [30, 40, 50])
    write_run(runs / "m0", _config("margin", 0), [45, 60], [35, 50], finished=False)
    assert main([str(runs), "--out", str(tmp_path / "out")]) == 0
    row = read_csv(tmp_path / "out" / "comparison.csv")["margin"]
    # Both cut to 200 labels: AUBC (45+60)/2 - (40+50)/2 = 7.5 and final 60 - 50 = 10; over
    # random's full curve the AUBC delta would have been 52.5 - 50 = 2.5.
    assert float(row["paired_delta_aubc_f1"]) == pytest.approx(7.5)
    assert float(row["paired_delta_final_f1"]) == pytest.approx(10.0)
    assert "1 pair(s) compared up to the shorter run's last budget" in row["note"]


def test_paired_delta_edge_cases() -> None:
    one = paired_delta([5.0], [3.0])
    assert (one.n, one.mean, one.ci, one.p_value, one.wilcoxon_p) == (1, 2.0, None, None, None)

    # The same non-zero difference on every seed: zero-width interval, t-test undefined, the
    # rank test still sees six positive differences.
    random = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    constant = paired_delta([r + 2.0 for r in random], random)
    assert constant.mean == pytest.approx(2.0) and constant.ci == 0.0 and constant.constant
    assert constant.p_value is None
    assert constant.wilcoxon_p == pytest.approx(2 / 2**6)

    identical = paired_delta(random, random)
    assert (identical.mean, identical.ci, identical.p_value, identical.wilcoxon_p) == (
        0.0,
        0.0,
        1.0,
        1.0,
    )

    # Float noise far below the scores' precision counts as identical, not as a tiny effect.
    noisy = paired_delta([r + r * 1e-13 for r in random], random)
    assert noisy.p_value == 1.0 and noisy.mean == 0.0

    strategy = [12.0, 19.0, 35.0, 41.0, 58.0, 66.0]
    mixed = paired_delta(strategy, random)
    diff = [s - r for s, r in zip(strategy, random, strict=True)]
    assert mixed.p_value == pytest.approx(stats.ttest_rel(strategy, random).pvalue)
    assert mixed.wilcoxon_p == pytest.approx(stats.wilcoxon(diff).pvalue)
    with pytest.raises(ValueError):
        paired_delta([1.0, 2.0], [1.0])


@pytest.mark.usefixtures("no_plots")
def test_rounds_with_bootstrap_intervals_load_like_plain_ones(tmp_path: Path) -> None:
    plain = write_run(tmp_path / "plain" / "0", _config("margin", 0), [50, 70, 80], [40, 60, 70])
    data = json.loads(plain.read_text())
    for record in data["rounds"]:
        record["f1_ci"] = [record["f1"] - 2, record["f1"] + 2]
        record["em_ci"] = [record["em"] - 3, record["em"] + 3]
    with_ci = tmp_path / "with_ci" / "0" / "results.json"
    with_ci.parent.mkdir(parents=True)
    with_ci.write_text(json.dumps(data))
    for name in ("plain", "with_ci"):
        assert main([str(tmp_path / name), "--out", str(tmp_path / f"out_{name}")]) == 0
    assert read_csv(tmp_path / "out_plain" / "comparison.csv") == read_csv(
        tmp_path / "out_with_ci" / "comparison.csv"
    )


def _data_config(strategy: str, seed: int, train_file: str, initial: int = 100) -> dict:
    config = _config(strategy, seed, dataset={"name": "squad", "train_file": train_file})
    config["budget"]["initial"] = initial
    return config


@pytest.mark.usefixtures("no_plots")
def test_strategy_only_grouping_pairs_only_runs_of_the_same_experiment(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    for seed in (0, 1, 2):
        f1 = random_f1(seed)
        write_run(runs / f"r{seed}", _data_config("random", seed, "a.json"), f1, f1)
    # seed 0: another pool file; seed 1: the same experiment; seed 2: another file and budget
    margin = {0: ("b.json", 100), 1: ("a.json", 100), 2: ("b.json", 50)}
    for seed, (train_file, initial) in margin.items():
        f1 = shifted(random_f1(seed), [3.0 * (seed + 1)] * 3)
        write_run(runs / f"m{seed}", _data_config("margin", seed, train_file, initial), f1, f1)
    out = tmp_path / "out"
    assert main([str(runs), "--out", str(out), "--group-by"]) == 0
    row = read_csv(out / "comparison.csv")["margin"]
    assert row["n_seeds"] == "3" and row["random_reference"] == "random"
    assert row["paired_n_seeds"] == "1"
    assert float(row["paired_delta_final_f1"]) == pytest.approx(6.0)  # seed 1's shift alone
    assert "seed 0 (random run differs in dataset.train_file)" in row["note"]
    assert "seed 2 (random run differs in budget.initial, dataset.train_file)" in row["note"]
    # margin's runs are three experiments, random's one: its mean curve is no baseline
    assert row["label_savings_f1"] == ""
    assert row["label_savings_status"] == "random's runs are other experiments"
    assert "differ in budget.initial, dataset.train_file" in row["note"]


def test_pair_by_seed_counts_a_key_only_one_run_has_and_ignores_bookkeeping(
    tmp_path: Path,
) -> None:
    random = _config("random", 0)
    random["features_cache"] = "/home/a/.cache/alqa/features"  # where, not what: ignored
    subsampled = _config("margin", 0, dataset={"name": "squad", "eval_size": 500})
    subsampled["features_cache"] = "/home/b/.cache/alqa/features"
    same = _config("margin", 0)
    same["strategy"]["temperature"] = 2.0
    files = [
        write_run(tmp_path / name, config, [50, 60, 70], [40, 50, 60])
        for name, config in (("r", random), ("s", subsampled), ("m", same))
    ]
    run_random, run_subsampled, run_same = load_runs(files)

    pairing = pair_by_seed([run_subsampled], [run_random])
    assert pairing.pairs == ()
    assert pairing.left_out == ("seed 0 (random run differs in dataset.eval_size)",)
    # a strategy hyperparameter, output_dir, logger.name and hydra.* are not the experiment
    pairing = pair_by_seed([run_same], [run_random])
    assert pairing.pairs == ((run_same, run_random),) and pairing.left_out == ()


# --------------------------------------------------------------------------- plots


def write_extreme_runs(runs: Path) -> None:
    """Two seeds per group whose t bands would leave 0-100: margin near the top, random near 0.

    margin's finals 100 and 90 give 95 ± 12.706 * 5 = 95 ± 63.5; random's first scores 0 and
    10 give 5 ± 63.5.
    """
    write_run(runs / "0", _config("margin", 0), [60, 90, 100], [50, 80, 100])
    write_run(runs / "1", _config("margin", 1), [70, 80, 90], [60, 70, 90])
    write_run(runs / "2", _config("random", 0), [0, 20, 40], [0, 10, 30])
    write_run(runs / "3", _config("random", 1), [10, 30, 50], [10, 20, 40])


def test_per_seed_lines_in_the_group_colour_and_bands_within_0_100(tmp_path: Path) -> None:
    write_extreme_runs(tmp_path / "runs")
    groups = group_runs(load_runs(find_result_files([tmp_path / "runs"])), [])
    plain = learning_curve_figure(groups, "f1")
    seeds = learning_curve_figure(groups, "f1", per_seed=True)
    for ax_plain, ax_seeds in zip(plain.axes, seeds.axes, strict=True):
        assert len(ax_plain.get_lines()) == 2  # one mean curve per group
        assert len(ax_seeds.get_lines()) == 2 + 4  # plus one thin line per run
        lines = ax_seeds.get_lines()
        means = {line.get_label(): line for line in lines if not line.get_label().startswith("_")}
        thin = [line for line in lines if line.get_label().startswith("_")]  # not in the legend
        for label in ("margin", "random (reference)"):
            colour = to_rgba(means[label].get_color())
            assert sum(to_rgba(line.get_color()) == colour for line in thin) == 2, label
        assert all(line.get_linewidth() < means["margin"].get_linewidth() for line in thin)

    for fig in (plain, seeds):
        bands = [c for ax in fig.axes for c in ax.collections]
        assert len(bands) == 2 * 2  # a band per group and panel
        ys = np.concatenate([path.vertices[:, 1] for c in bands for path in c.get_paths()])
        assert ys.min() == pytest.approx(0.0) and ys.max() == pytest.approx(100.0)
        assert 0.0 <= ys.min() and ys.max() <= 100.0


def test_per_seed_flag_adds_lines_to_the_svg(tmp_path: Path) -> None:
    write_extreme_runs(tmp_path / "runs")
    counts = {}
    for flags in ([], ["--per-seed"]):
        out = tmp_path / ("seeds" if flags else "plain")
        assert main([str(tmp_path / "runs"), "--out", str(out), *flags]) == 0
        counts[bool(flags)] = (out / "learning_curve.svg").read_text().count('id="line2d_')
    # 4 runs x 2 panels more Line2D objects (gridlines and ticks are the same in both)
    assert counts[True] - counts[False] == 4 * 2
