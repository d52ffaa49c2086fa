"""Which config keys were swept, and which runs belong together (one row, one curve)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alqa.compare.loading import UNSET, Run, strategy_name
from alqa.settings import EXECUTION_KEYS

RANDOM = "random"

# Config keys that vary between runs without being an experimental condition: per-run
# bookkeeping (seeds, output and cache locations, logging such as
# logger.name=<strategy>-seed<seed>, oracle.project=alqa <strategy> seed<seed>) would otherwise
# split every run into its own group during auto-detection, and no two runs would be the same
# experiment. ``train.device`` says where a run went, not what it computed.
_EXCLUDED_PREFIXES = ("hydra.", "logger.", "wandb.")
_EXECUTION = frozenset(f"train.{key}" for key in EXECUTION_KEYS)
_EXCLUDED_LEAVES = frozenset(
    {"seed", "output_dir", "out_dir", "run_dir", "save_dir", "features_cache", "project"}
)


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config as ``{dotted.key: scalar}``; lists are skipped (never a sweep axis here)."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_config(value, dotted + "."))
        elif not isinstance(value, (list, tuple)):
            flat[dotted] = value
    return flat


def get_key(config: Mapping[str, Any], dotted: str) -> Any:
    """Value at a dotted key, or UNSET; lists and dicts become JSON text so they can be grouped."""
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return UNSET
        node = node[part]
    if isinstance(node, (list, Mapping)):
        return json.dumps(node, sort_keys=True)
    return node


def _bookkeeping(key: str) -> bool:
    """Whether a flattened key is per-run bookkeeping (seeds, locations, logging): such keys
    differ between runs of one experiment, so they are neither sweep axes nor conditions."""
    leaf = key.rsplit(".", 1)[-1]
    if key.startswith(_EXCLUDED_PREFIXES) or key in _EXECUTION:
        return True
    return leaf in _EXCLUDED_LEAVES or leaf.endswith("_seed")


def _auto_candidate(key: str) -> bool:
    return key != "strategy.name" and not _bookkeeping(key)


def _axis_order(key: str) -> tuple[bool, int, str]:
    """``*.name`` keys first, then shallow ones: the keys a reader recognises soonest."""
    return not key.endswith(".name"), key.count("."), key


def experiment_identity(config: Mapping[str, Any]) -> dict[str, Any]:
    """What makes two runs the same experiment apart from the strategy: data, model, budget,
    train and scoring settings, i.e. the flattened config without the strategy (name and
    hyperparameters), the seeds (pairing matches seeds on its own) and per-run bookkeeping.

    A difference between a strategy run and a random run is only the strategy's doing when
    their identities are equal; lists are skipped as in grouping (none is a condition).
    """
    return {
        key: value
        for key, value in flatten_config(config).items()
        if key != "strategy" and not key.startswith("strategy.") and not _bookkeeping(key)
    }


def identity_key(config: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """The experiment identity in hashable form, to group or count runs by experiment."""
    return tuple(sorted(experiment_identity(config).items(), key=lambda item: item[0]))


def differing_keys(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Keys whose values differ between two identities (a key only one has counts), in the
    order labels name axes."""
    keys = set(a) | set(b)
    return sorted((k for k in keys if a.get(k, UNSET) != b.get(k, UNSET)), key=_axis_order)


def closest_difference(
    identity: Mapping[str, Any], others: Iterable[Mapping[str, Any]]
) -> list[str]:
    """The keys ``identity`` differs in from the closest of ``others`` (fewest keys apart)."""
    return min((differing_keys(identity, other) for other in others), key=len)


def experiments_differ(runs: Sequence[Run], reference: Sequence[Run]) -> list[str]:
    """Keys that tell the experiments of ``runs`` from those of ``reference`` (both non-empty);
    empty when both cover the same set of experiments.

    Each experiment that only one side has is compared with the closest experiment of the other
    side, so the keys name what actually differs rather than every key that varies.
    """
    mine = {identity_key(run.config) for run in runs}
    theirs = {identity_key(run.config) for run in reference}
    keys: set[str] = set()
    for side, other in ((mine, theirs), (theirs, mine)):
        for ident in side - other:
            keys.update(closest_difference(dict(ident), [dict(o) for o in other]))
    return sorted(keys, key=_axis_order)


def _same_curve(shorter: Run, longer: Run) -> bool:
    """Whether ``shorter``'s rounds are ``longer``'s first ones (an interrupted copy is)."""
    n = shorter.n_labeled.size
    return np.array_equal(shorter.n_labeled, longer.n_labeled[:n]) and all(
        m in longer.scores and np.array_equal(values, longer.scores[m][:n])
        for m, values in shorter.scores.items()
    )


def drop_repeats(runs: Sequence[Run], keys: Sequence[str]) -> tuple[list[Run], list[str]]:
    """The runs with each repeat counted once, and a note per dropped run.

    A repeat has the same strategy (and strategy settings), seed, experiment and grouping-key
    values as another run: the random runs of two sweeps compared together, say. Counted
    twice, one seed would pass for two independent ones (narrower intervals) and pairing would
    not know which random run is the partner. The run with more rounds is kept (the first
    when they are as long); the note says whether the curves are the same.
    """
    kept: dict[tuple, Run] = {}
    unseeded: list[Run] = []  # without a seed, a run cannot be told to repeat another
    notes: list[str] = []
    for run in runs:
        if run.seed is UNSET:
            unseeded.append(run)
            continue
        key = (
            get_key(run.config, "strategy"),
            format_value(run.seed),
            identity_key(run.config),
            tuple(get_key(run.config, k) for k in keys),
        )
        first = kept.setdefault(key, run)
        if first is run:
            continue
        longer, shorter = (
            (run, first) if run.n_labeled.size > first.n_labeled.size else (first, run)
        )
        kept[key] = longer
        curve = "another curve"
        if _same_curve(shorter, longer):
            as_far = shorter.n_labeled.size < longer.n_labeled.size
            curve = "the same curve as far as it goes" if as_far else "the same curve"
        notes.append(
            f"{shorter.path} repeats {longer.path} (same strategy, seed {format_value(run.seed)} "
            f"and experiment; {curve}): counted once"
        )
    return [*kept.values(), *unseeded], notes


def name_keys(keys: Sequence[str], limit: int = 3) -> str:
    """``a, b, c, …``: the first few keys, so a note stays one short phrase."""
    shown = ", ".join(keys[:limit])
    return shown + ", …" if len(keys) > limit else shown


def detect_swept_keys(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Config keys whose value differs between runs, i.e. the axes of a sweep.

    Seeds, ``hydra.*``, ``logger.*``, ``wandb.*``, output locations and lists are never sweep
    axes. A key that only follows keys already chosen (``model.name_or_path`` and the model's
    learning rate once ``model.name`` is swept) is dropped, so labels name each axis once;
    ``*.name`` keys and shallow keys are preferred. Keys under ``strategy.`` are strategy
    hyperparameters that naturally differ between strategies, so they only count when they
    split runs of the *same* strategy. Any other key counts wherever it differs (including
    present vs absent), so a strategy run with another model or dataset than its random
    baseline is never silently pooled or compared as if equal.
    """
    flats = [flatten_config(c) for c in configs]
    candidates = sorted({k for flat in flats for k in flat if _auto_candidate(k)}, key=_axis_order)
    general = [k for k in candidates if not k.startswith("strategy.")]
    specific = [k for k in candidates if k.startswith("strategy.")]

    def refine(blocks: list[tuple[Any, ...]], keys: list[str], kept: list[str]) -> list[tuple]:
        for key in keys:
            finer = [b + (flat.get(key, UNSET),) for b, flat in zip(blocks, flats, strict=True)]
            if len(set(finer)) > len(set(blocks)):
                kept.append(key)
                blocks = finer
        return blocks

    kept: list[str] = []
    blocks = refine([() for _ in flats], general, kept)
    refine([(strategy_name(c), *b) for c, b in zip(configs, blocks, strict=True)], specific, kept)
    return sorted(kept)


def format_value(value: Any) -> str:
    """A config value as shown in labels and CSV cells (``<unset>`` for a missing key)."""
    return repr(value) if value is UNSET else str(value)


@dataclass
class Group:
    """Runs of one strategy under one setting of the grouping keys (one row, one curve)."""

    strategy: str
    key_values: dict[str, Any]
    runs: list[Run] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``strategy | key=value | ...``; another strategy's hyperparameters are left out."""
        parts = [self.strategy]
        for key, value in self.key_values.items():
            if not (value is UNSET and key.startswith("strategy.")):
                parts.append(f"{key}={format_value(value)}")
        return " | ".join(parts)

    @property
    def is_random(self) -> bool:
        return self.strategy == RANDOM


def group_runs(runs: Sequence[Run], keys: Sequence[str]) -> list[Group]:
    """Group runs by strategy name plus the given dotted keys, pooling seeds within a group."""
    keys = [k for k in dict.fromkeys(keys) if k != "strategy.name"]
    groups: dict[tuple[Any, ...], Group] = {}
    for run in runs:
        values = {k: get_key(run.config, k) for k in keys}
        ident = (run.strategy, *values.values())
        groups.setdefault(ident, Group(run.strategy, values)).runs.append(run)
    return sorted(groups.values(), key=lambda g: g.label)


def pick_reference(group: Group, randoms: Sequence[Group]) -> tuple[Group | None, list[str]]:
    """The random group sharing this group's non-strategy key values (else the closest one).

    Returns the reference and the keys it differs in: a non-empty list means the closest random
    group is another experiment, which the caller must not measure against but may name.
    """
    if group.is_random:
        return group, []
    keys = [k for k in group.key_values if not k.startswith("strategy.")]

    def mismatches(ref: Group) -> list[str]:
        return [k for k in keys if ref.key_values.get(k, UNSET) != group.key_values[k]]

    if not randoms:
        return None, []
    best = min(randoms, key=lambda r: len(mismatches(r)))  # ties: first label, randoms sorted
    return best, mismatches(best)
