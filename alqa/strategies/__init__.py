"""Query strategies. Adding one = one small class here plus ``conf/strategy/<name>.yaml``."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from alqa.strategies.base import (
    PseudoLabels,
    QueryContext,
    QueryStrategy,
    ScoreBasedStrategy,
    top_k,
)
from alqa.strategies.uncertainty import Entropy, LeastConfidence, Margin, RandomSampling

# Import every module of this package so each strategy class registers by subclassing.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "PseudoLabels",
    "QueryContext",
    "QueryStrategy",
    "ScoreBasedStrategy",
    "top_k",
    "available_strategies",
    "build_strategy",
    "UnknownStrategyError",
    "RandomSampling",
    "LeastConfidence",
    "Margin",
    "Entropy",
]


class UnknownStrategyError(ValueError):
    """``strategy.name`` names no strategy class; the message lists the available ones."""


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def available_strategies() -> dict[str, type[QueryStrategy]]:
    """Every strategy class with a user-facing name, by that name."""
    return {c.name: c for c in _all_subclasses(QueryStrategy) if c.name}


def build_strategy(strategy_cfg: Any) -> QueryStrategy:
    """Instantiate from the ``strategy`` config (``_target_``), checking the name is known."""
    import hydra.utils

    name = strategy_cfg.get("name")
    known = available_strategies()
    if name not in known:
        raise UnknownStrategyError(
            f"unknown strategy {name!r}; available: {', '.join(sorted(known))}"
        )
    from omegaconf import OmegaConf

    params = (
        OmegaConf.to_container(strategy_cfg, resolve=True)
        if not isinstance(strategy_cfg, dict)
        else dict(strategy_cfg)
    )
    params.pop("name")  # the user-facing name is metadata, not a constructor argument
    strategy = hydra.utils.instantiate(params, _convert_="all")
    if not isinstance(strategy, QueryStrategy):
        raise TypeError(f"strategy._target_ must build a QueryStrategy, got {type(strategy)}")
    return strategy
