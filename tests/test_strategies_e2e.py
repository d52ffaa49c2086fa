"""Every strategy config runs the real loop on the tiny model: exact counts, no repeats, seeded."""

from __future__ import annotations

import pytest
from conftest import REPO_ROOT, run_tiny

STRATEGIES = sorted(p.stem for p in (REPO_ROOT / "conf" / "strategy").glob("*.yaml"))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_two_query_rounds(strategy, tiny_data, tmp_path):
    extra = [f"strategy={strategy}", "budget.quota=8", "budget.per_round=4"]
    if strategy.endswith("_dropout") or strategy in {"bald", "var_ratio", "mean_std"}:
        extra.append("strategy.mc_passes=3")
    first = run_tiny(tiny_data, tmp_path / "a", *extra)
    rounds = first["rounds"]
    assert [r["n_labeled"] for r in rounds] == [10, 14, 18]
    assert [len(r["selected_ids"]) for r in rounds] == [10, 4, 4]
    picked = [q for r in rounds for q in r["selected_ids"]]
    assert len(picked) == len(set(picked)), "a question was labeled twice"
    assert first["finished"] is True
    again = run_tiny(tiny_data, tmp_path / "b", *extra)
    assert [r["selected_ids"] for r in again["rounds"]] == [r["selected_ids"] for r in rounds]
