"""Strategy runs paired with the random run of the same seed and the same experiment.

Runs with the same seed share the initial labeled set and the evaluation subset, so the
difference within a pair is free of the seed-to-seed variation both runs have in common. That
only holds when the two runs are otherwise the same experiment (same data, model, budget,
train and scoring settings): a random run of another experiment is no partner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alqa.compare.grouping import (
    closest_difference,
    experiment_identity,
    format_value,
    identity_key,
    name_keys,
)
from alqa.compare.loading import UNSET, Run
from alqa.compare.stats import PairedDelta, SeedSavings, paired_delta, seed_savings
from alqa.curves import label_savings

PAIRED_METRIC = "f1"


@dataclass(frozen=True)
class Pairing:
    """(strategy run, random run) pairs, ordered by seed, and the seeds that found no partner."""

    pairs: tuple[tuple[Run, Run], ...]
    left_out: tuple[str, ...]  # e.g. "seed 3 (no random run)"


def _seed_order(seed: str) -> tuple[int, int, str]:
    try:
        return 0, int(seed), ""
    except ValueError:
        return 1, 0, seed


def _by_seed(runs: Sequence[Run]) -> dict[str, list[Run]]:
    by_seed: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        if run.seed is not UNSET:
            by_seed[format_value(run.seed)].append(run)
    return by_seed


def _common_end(a: Run, b: Run) -> float:
    """The last budget both runs reached."""
    return float(min(a.n_labeled[-1], b.n_labeled[-1]))


def _by_identity(runs: Sequence[Run]) -> dict[tuple, list[Run]]:
    by_identity: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        by_identity[identity_key(run.config)].append(run)
    return by_identity


def _mismatch(run: Run, theirs: list[Run]) -> str:
    """``random run differs in a, b``: the keys of the closest random run of that seed."""
    others = [experiment_identity(r.config) for r in theirs]
    keys = closest_difference(experiment_identity(run.config), others)
    return f"random run differs in {name_keys(keys)}"


def _partner(own: list[Run], theirs: list[Run]) -> Run | str:
    """The random partner of one experiment's runs of a seed, or why there is none.

    ``own``: the runs of one seed and one experiment; ``theirs``: random's runs of that seed.
    """
    if len(own) > 1:
        return "duplicate seed"
    if not theirs:
        return "no random run"
    same = _by_identity(theirs).get(identity_key(own[0].config), [])
    if not same:
        return _mismatch(own[0], theirs)
    if len(same) > 1:
        return "duplicate random seed"
    if max(own[0].n_labeled[0], same[0].n_labeled[0]) > _common_end(own[0], same[0]):
        return "no budget in common with random"
    return same[0]


def pair_by_seed(runs: Sequence[Run], reference: Sequence[Run]) -> Pairing:
    """Pair each run with the reference (random) run of the same seed and the same experiment.

    The experiment (grouping.experiment_identity) is matched as well as the seed, so a group
    pooling several experiments pairs each run with its own experiment's random run. A seed is
    left out, with the reason, when it has no random run, when its random runs are all another
    experiment (the differing keys are named), when either side has it twice within one
    experiment (which pair would be arbitrary) or when the two curves share no budget; runs
    without a seed cannot be paired at all. Random's extra seeds are simply unused.
    """
    theirs = _by_seed(reference)
    pairs: list[tuple[Run, Run]] = []
    left_out: list[str] = []
    for seed, own in sorted(_by_seed(runs).items(), key=lambda item: _seed_order(item[0])):
        for same in _by_identity(own).values():
            partner = _partner(same, theirs.get(seed, []))
            if isinstance(partner, str):
                left_out.append(f"seed {seed} ({partner})")
            else:
                pairs.append((same[0], partner))
    unseeded = sum(run.seed is UNSET for run in runs)
    if unseeded:
        left_out.append(f"{unseeded} run(s) without a seed")
    return Pairing(tuple(pairs), tuple(left_out))


@dataclass(frozen=True)
class PairedComparison:
    """A group against random, seed by seed: F1 deltas and per-seed label savings."""

    n_pairs: int
    aubc_f1: PairedDelta
    final_f1: PairedDelta
    savings: SeedSavings  # on the --metric, like the mean-curve savings
    cut: int  # pairs compared only up to the shorter run's last budget


def _delta(pairs: Sequence[tuple[Run, Run]], score: Callable[[Run], float]) -> PairedDelta:
    return paired_delta([score(s) for s, _ in pairs], [score(r) for _, r in pairs])


def compare_paired(pairing: Pairing, metric: str) -> PairedComparison | None:
    """Paired statistics over a pairing, or None when no seed could be paired.

    When one run of a pair stopped earlier, both are cut to the last budget both reached;
    otherwise the longer curve's extra rounds would count as a difference between strategies.
    """
    if not pairing.pairs:
        return None
    cut_pairs = [(s.up_to(_common_end(s, r)), r.up_to(_common_end(s, r))) for s, r in pairing.pairs]
    # up_to returns the run itself when nothing is cut
    n_cut = sum(s is not s0 or r is not r0 for (s, r), (s0, r0) in zip(cut_pairs, pairing.pairs))
    return PairedComparison(
        n_pairs=len(cut_pairs),
        aubc_f1=_delta(cut_pairs, lambda run: run.aubc(PAIRED_METRIC)),
        final_f1=_delta(cut_pairs, lambda run: run.final(PAIRED_METRIC)),
        savings=seed_savings(
            [label_savings(s.curve(metric), r.curve(metric)) for s, r in cut_pairs]
        ),
        cut=n_cut,
    )
