"""The labeling budget, counted in questions, and its checks.

Checks run before any data is tokenised or any model trained, so a typo in an override costs
seconds, not a training round.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from alqa.settings import ConfigError, refuse_unknown_keys


class BudgetError(ConfigError):
    """An impossible budget; the message names the config key to change."""


@dataclass(frozen=True)
class Budget:
    initial: int
    per_round: int
    quota: int
    pool_subsample: int = 0

    @classmethod
    def from_config(cls, budget_cfg: Any) -> Budget:
        refuse_unknown_keys(budget_cfg, [f.name for f in dataclasses.fields(cls)], "budget")
        values = {}
        for key in ("initial", "per_round", "quota", "pool_subsample"):
            raw = budget_cfg.get(key, 0 if key == "pool_subsample" else None)
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise BudgetError(f"budget.{key} must be a whole number, got {raw!r}")
            values[key] = raw
        budget = cls(**values)
        budget.validate()
        return budget

    def validate(self, pool_size: int | None = None, pool_capped: bool = False) -> None:
        """Raise :class:`BudgetError` naming the key when the budget cannot be spent;
        ``pool_capped``: the pool is a ``dataset.pool_size`` subsample (raising it helps)."""
        if self.initial < 1:
            raise BudgetError(
                f"budget.initial must be at least 1 (got {self.initial}): the first model "
                "needs labeled questions to train on"
            )
        if self.per_round < 1:
            raise BudgetError(f"budget.per_round must be at least 1, got {self.per_round}")
        if self.quota < 0:
            raise BudgetError(f"budget.quota must be 0 or more, got {self.quota}")
        if self.pool_subsample < 0:
            raise BudgetError(
                f"budget.pool_subsample must be 0 (all) or more, got {self.pool_subsample}"
            )
        if 0 < self.pool_subsample < self.per_round:
            raise BudgetError(
                f"budget.pool_subsample ({self.pool_subsample}) is smaller than "
                f"budget.per_round ({self.per_round}): a round could not fill its batch"
            )
        if pool_size is not None and self.initial + self.quota > pool_size:
            raise BudgetError(
                f"budget.initial + budget.quota = {self.initial} + {self.quota} = "
                f"{self.initial + self.quota} questions, but the pool has only {pool_size}: "
                "lower budget.quota or budget.initial"
                + (", or raise dataset.pool_size" if pool_capped else ", or use a larger pool")
            )

    @property
    def num_query_rounds(self) -> int:
        return math.ceil(self.quota / self.per_round)

    def round_sizes(self) -> list[int]:
        """Questions added per round: the initial set, then per_round, the last maybe smaller."""
        sizes = [self.initial]
        remaining = self.quota
        while remaining > 0:
            sizes.append(min(self.per_round, remaining))
            remaining -= sizes[-1]
        return sizes


#: the keys that plan the rounds; a resumed run may change them only as far as
#: :func:`replan_problem` allows
PLAN_KEYS = ("initial", "per_round", "quota")


def replan_problem(old: Budget, new: Budget, picked: int) -> str | None:
    """Why ``new`` cannot go on with a run planned by ``old`` whose first ``picked`` rounds
    are already picked, or None when it can.

    It can when it plans those rounds with the same sizes: then every pick so far is one an
    uninterrupted run of ``new`` makes too, so growing the quota (or shrinking it to a round
    not yet picked) keeps the run exact.
    """
    done, planned = old.round_sizes()[:picked], new.round_sizes()
    if planned[:picked] == done:
        return None
    sizes = ", ".join(map(str, done))
    if len(planned) < picked:
        return (
            f"budget.quota={new.quota} is less than the {sum(done[1:])} questions this run has "
            f"already queried (rounds of {sizes}): use budget.quota={sum(done[1:])} or more"
        )
    return (
        f"this run's rounds add {sizes} questions and the new budget would add "
        f"{', '.join(map(str, planned[:picked]))}: keep budget.initial={old.initial} and "
        f"budget.per_round={old.per_round}; a run whose last round was smaller than per_round "
        "cannot grow (start it in another directory, hydra.run.dir=...)"
    )
