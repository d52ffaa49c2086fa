"""Query strategies. Adding one = one small class here plus ``conf/strategy/<name>.yaml``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from typing import Any

import hydra.utils
from hydra.errors import InstantiationException
from omegaconf import OmegaConf

from alqa.settings import ConfigError, coerce_value
from alqa.state import PseudoLabels
from alqa.strategies.base import (
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


class UnknownStrategyError(ConfigError):
    """The strategy config names no strategy class, or contradicts its own class."""


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def available_strategies() -> dict[str, type[QueryStrategy]]:
    """Every strategy class with a user-facing name, by that name."""
    return {c.name: c for c in _all_subclasses(QueryStrategy) if c.name}


def _settings_error(error: Exception, target: str) -> ConfigError:
    """The one-line message for a strategy constructor's complaint about its settings."""
    unexpected = re.search(r"unexpected keyword argument '(\w+)'", str(error))
    if unexpected:
        cls = hydra.utils.get_class(target)
        allowed = [p for p in inspect.signature(cls).parameters if p != "self"]
        return ConfigError(
            f"strategy.{unexpected.group(1)} is not a setting of {cls.name or target}; "
            f"its settings: {', '.join(allowed) or 'none'}"
        )
    return ConfigError(str(error))


def _coerce_setting(key: str, annotation: str, value: Any) -> Any:
    """A strategy setting as its constructor's type hint says (``int``, ``float | None``,
    ``list[int] | None``...): ``attention_dropout=off`` is no bool, ``mc_passes=2.5`` no
    count, ``beta=inf`` no temperature; unchecked, each would run as something else."""
    kinds = [part.strip() for part in annotation.split("|")]
    if value is None and "None" in kinds:
        return None
    kind = next((k for k in kinds if k != "None"), "")
    if kind.startswith("list[") and kind.endswith("]"):
        if not isinstance(value, list):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        return [coerce_value(f"{key}[{i}]", kind[5:-1], v) for i, v in enumerate(value)]
    if kind in ("bool", "int", "float", "str"):
        return coerce_value(key, kind, value)
    return value


def _typed_settings(params: dict[str, Any]) -> dict[str, Any]:
    """The config's settings checked against the strategy class's constructor hints."""
    try:
        cls = hydra.utils.get_class(params["_target_"])
    except (ImportError, ValueError, AttributeError):
        return params  # _instantiate names the bad target
    hints = {
        name: (hint.__name__ if isinstance(hint, type) else str(hint))
        for name, parameter in inspect.signature(cls, eval_str=False).parameters.items()
        if (hint := parameter.annotation) is not inspect.Parameter.empty
    }
    return {
        name: _coerce_setting(f"strategy.{name}", hints[name], value) if name in hints else value
        for name, value in params.items()
    }


def _instantiate(params: dict[str, Any]) -> QueryStrategy:
    target = str(params.get("_target_") or "")
    if not target:
        raise UnknownStrategyError("strategy._target_ is missing: choose one with strategy=<name>")
    try:
        strategy = hydra.utils.instantiate(params, _convert_="all")
    except InstantiationException as error:
        cause = error.__cause__
        if isinstance(cause, ValueError | TypeError):
            raise _settings_error(cause, target) from error
        raise UnknownStrategyError(
            f"strategy._target_={target} cannot be built ({error}); "
            f"available strategies: {', '.join(sorted(available_strategies()))}"
        ) from error
    if not isinstance(strategy, QueryStrategy):
        raise UnknownStrategyError(f"strategy._target_={target} is not a QueryStrategy")
    return strategy


def build_strategy(strategy_cfg: Any) -> QueryStrategy:
    """Instantiate from the ``strategy`` config: ``_target_`` picks the class, and
    ``strategy.name`` (which names the run's folder, W&B run and comparison rows) must be
    that class's name, so a run can never be filed under another strategy."""
    params = (
        OmegaConf.to_container(strategy_cfg, resolve=True)
        if not isinstance(strategy_cfg, dict)
        else dict(strategy_cfg)
    )
    name = params.pop("name", None)
    strategy = _instantiate(_typed_settings(params))
    if name is not None and name != strategy.name:
        raise UnknownStrategyError(
            f"strategy.name={name!r} contradicts strategy._target_={params['_target_']} "
            f"(the {strategy.name!r} strategy): choose a strategy with strategy=<name> "
            f"(available: {', '.join(sorted(available_strategies()))}), not by renaming it"
        )
    return strategy
