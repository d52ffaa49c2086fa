"""Every setting the loop reads, validated from the composed config before anything heavy.

Kept free of torch and transformers, so ``python main.py`` with a bad value answers in about
a second: the app checks these before it imports the loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alqa.budget import Budget
from alqa.settings import (
    ConfigError,
    ScoringSettings,
    TrainSettings,
    WindowSettings,
    read_settings,
)


@dataclass(frozen=True)
class RunSettings:
    """Every setting the loop reads, validated: what a bad override is caught by."""

    seed: int
    budget: Budget
    train: TrainSettings
    scoring: ScoringSettings
    windows: WindowSettings

    @classmethod
    def from_config(cls, cfg: Any) -> RunSettings:
        seed = cfg.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed must be a whole number ≥ 0, got {seed!r}")
        train, scoring, windows = read_settings(cfg)
        return cls(seed, Budget.from_config(cfg.budget), train, scoring, windows)
