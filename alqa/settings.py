"""Typed, validated settings read from the composed config, before any data is touched.

Every key the loop reads from ``model``, ``train`` and ``scoring`` is checked here, so a typo
in an override (``train.learning_rate=-0.1``, ``scoring.n_best=0``) stops the run in a second
with one line that names the key and what is allowed, instead of a traceback minutes later or,
worse, a run that silently trains nothing.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key and what is allowed."""


def bounded(low: float | None = None, high: float | None = None, *, open_low: bool = False):
    """Field metadata: the value must lie in [low, high] (or (low, high] with ``open_low``)."""
    return {"low": low, "high": high, "open_low": open_low}


def _allowed(meta: dict[str, Any]) -> str:
    low, high = meta.get("low"), meta.get("high")
    if low is not None and high is not None:
        return f"in {'(' if meta['open_low'] else '['}{low}, {high}]"
    if low is not None:
        return f"{'>' if meta['open_low'] else '≥'} {low}"
    return f"≤ {high}"


def coerce_value(key: str, kind: str, value: Any) -> Any:
    """The value as the field's type, or a ConfigError naming ``key``."""
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be a whole number, got {value!r}")
    if kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return float(value)
        raise ConfigError(f"{key} must be a finite number, got {value!r}")
    if kind == "str":
        if isinstance(value, str) and value:
            return value
        raise ConfigError(f"{key} must be a non-empty string, got {value!r}")
    raise TypeError(f"unsupported settings field type {kind!r}")


def _check_range(key: str, value: Any, meta: dict[str, Any]) -> None:
    low, high = meta.get("low"), meta.get("high")
    too_low = low is not None and (value <= low if meta.get("open_low") else value < low)
    if too_low or (high is not None and value > high):
        raise ConfigError(f"{key} must be {_allowed(meta)}, got {value!r}")


def refuse_unknown_keys(section: Any, known: Iterable[str], prefix: str) -> None:
    """A mistyped key (``+train.lr=5``, as Hydra's own hint suggests for a typo) would be
    silently ignored and the run would use the default: refuse it, naming the known keys."""
    known = list(known)
    unknown = sorted(set(section.keys() if section is not None else ()) - set(known))
    if unknown:
        raise ConfigError(
            f"{prefix}.{unknown[0]} is not a setting of {prefix}; its settings: {', '.join(known)}"
        )


def read_section(cls: type, section: Any, prefix: str, *, strict: bool = True) -> Any:
    """Build the dataclass ``cls`` from a config section, checking each field's type and range.

    A key missing from the section takes the field's default; without a default it is an error.
    ``strict``: a key that is no field is refused (off for sections that other code reads too).
    """
    if strict:
        refuse_unknown_keys(section, (spec.name for spec in dataclasses.fields(cls)), prefix)
    values = {}
    for spec in dataclasses.fields(cls):
        key = f"{prefix}.{spec.name}"
        raw = section.get(spec.name, None) if section is not None else None
        if raw is None:
            if spec.default is dataclasses.MISSING:
                raise ConfigError(f"{key} is required")
            continue
        value = coerce_value(key, str(spec.type), raw)
        _check_range(key, value, spec.metadata)
        values[spec.name] = value
    return cls(**values)


#: ``train`` keys that say where a run goes, not what it computes: a run may resume with
#: another value (a job killed on one GPU goes on on another), and runs that differ only in
#: them are the same experiment in a comparison. Not ``eval_batch_size`` (MC-dropout masks
#: are drawn batch by batch) nor ``compile`` (compiled dropout draws other masks): both change
#: the picks.
EXECUTION_KEYS = ("device",)


@dataclass(frozen=True)
class TrainSettings:
    """How each round trains: the keys of ``conf/train``."""

    learning_rate: float = field(metadata=bounded(0.0, open_low=True))
    epochs: int = field(metadata=bounded(1))
    batch_size: int = field(metadata=bounded(1))
    min_steps: int = field(default=0, metadata=bounded(0))
    eval_batch_size: int = field(default=64, metadata=bounded(1))
    weight_decay: float = field(default=0.01, metadata=bounded(0.0))
    warmup_ratio: float = field(default=0.1, metadata=bounded(0.0, 1.0))
    max_grad_norm: float = field(default=1.0, metadata=bounded(0.0, open_low=True))
    warm_start: bool = False
    bf16: bool = True
    cpu_bf16: bool = False
    compile: bool = False
    device: str = "auto"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", self.device):
            raise ConfigError(
                f"train.device must be auto, cpu, cuda, cuda:<n> or mps, got {self.device!r}"
            )

    def autocast_bf16(self, device: Any) -> bool:
        """Whether the passes on ``device`` (a torch.device) ask for bf16 autocast: ``bf16``
        on a GPU, ``cpu_bf16`` on a CPU (opt-in: it changes the numbers a CPU run reports);
        the hardware check is :func:`alqa.inference.bf16_hardware`."""
        return autocast_bf16(self, device)


def autocast_bf16(train: Any, device: Any) -> bool:
    """:meth:`TrainSettings.autocast_bf16` for any object with the train keys (a config)."""
    kind = getattr(device, "type", str(device).partition(":")[0])
    if kind == "cuda":
        return bool(train.bf16)
    return kind == "cpu" and bool(getattr(train, "cpu_bf16", False))


@dataclass(frozen=True)
class ScoringSettings:
    """How candidate spans are formed: the keys of ``conf/scoring``."""

    n_best: int = field(default=20, metadata=bounded(1))
    max_answer_length: int = field(default=30, metadata=bounded(1))
    #: with unanswerable questions: predict "no answer" when the null score beats the best
    #: span's by more than this (HF's null_score_diff_threshold); any finite number
    null_threshold: float = 0.0


@dataclass(frozen=True)
class WindowSettings:
    """How a question and its context are cut into windows: ``model.max_length``/``stride``."""

    max_length: int = field(metadata=bounded(8))
    stride: int = field(metadata=bounded(0))

    def __post_init__(self) -> None:
        if self.stride >= self.max_length:
            raise ConfigError(
                f"model.stride ({self.stride}) must be smaller than model.max_length "
                f"({self.max_length}): it is the overlap between a context's windows"
            )


def read_settings(cfg: Any) -> tuple[TrainSettings, ScoringSettings, WindowSettings]:
    """The validated train, scoring and window settings of a composed config."""
    return (
        read_section(TrainSettings, cfg.get("train"), "train"),
        read_section(ScoringSettings, cfg.get("scoring"), "scoring"),
        read_section(WindowSettings, cfg.get("model"), "model", strict=False),
    )
