"""Every strategy config runs the real loop on the tiny model: exact counts, no repeats, seeded."""

from __future__ import annotations

import pytest
from conftest import REPO_ROOT, run_tiny

from alqa.strategies import available_strategies
from alqa.strategies.bayesian import MCDropoutStrategy

STRATEGIES = sorted(p.stem for p in (REPO_ROOT / "conf" / "strategy").glob("*.yaml"))
MC = {n for n, c in available_strategies().items() if issubclass(c, MCDropoutStrategy)}
#: one per family in the fast tier (`make test`); every other strategy runs in `make test-all`
FAST = {"random", "margin", "bald", "kcenter", "badge", "loss_prediction"}


@pytest.mark.parametrize(
    "strategy",
    [s if s in FAST else pytest.param(s, marks=pytest.mark.slow) for s in STRATEGIES],
)
def test_strategy_two_query_rounds(strategy, tiny_data, tmp_path):
    extra = [f"strategy={strategy}", "budget.quota=8", "budget.per_round=4"]
    if strategy in MC:
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
