"""One summary row per group: seed-aggregated scores and label savings against random."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from alqa.compare.grouping import Group, experiments_differ, identity_key, name_keys, pick_reference
from alqa.compare.loading import METRICS, UNSET, Run
from alqa.compare.pairing import PairedComparison, Pairing, compare_paired, pair_by_seed
from alqa.compare.stats import mean_ci, mean_curve
from alqa.curves import label_savings

# savings_status values: why a row has no label savings against random
NOT_REACHED = "not reached"
NO_RANDOM = "no random baseline"
NO_SAME_RANDOM = "no random baseline of the same experiment"
OTHER_EXPERIMENTS = "random's runs are other experiments"


@dataclass(frozen=True)
class Summary:
    """One table row: seed-aggregated scores of a group and its savings against random."""

    group: Group
    stats: dict[str, tuple[float, float | None]]  # e.g. "aubc_f1" -> (mean, ci half-width)
    savings: float | None
    savings_status: str  # "" when savings is a number, else NOT_REACHED, NO_RANDOM, ...
    reference: str  # the random group measured against; "" when there is none
    note: str
    paired: PairedComparison | None = None  # None for random itself and without any pair

    @property
    def n_seeds(self) -> int:
        return len(self.group.runs)


def _seed_stats(runs: Sequence[Run]) -> dict[str, tuple[float, float | None]]:
    """AUBC and final score per metric, recomputed from the rounds, as mean ± CI over seeds."""
    stats: dict[str, tuple[float, float | None]] = {}
    for m in METRICS:
        stats[f"aubc_{m}"] = mean_ci([r.aubc(m) for r in runs])
        stats[f"final_{m}"] = mean_ci([r.final(m) for r in runs])
    stats["final_n_labeled"] = mean_ci([float(r.n_labeled[-1]) for r in runs])
    return stats


def _run_notes(runs: Sequence[Run]) -> list[str]:
    """Warnings about a group's runs that a reader of the table needs to know."""
    notes = []
    early = [r for r in runs if r.stopped_early]
    if early:
        notes.append(f"{len(early)} of {len(runs)} runs stopped early")
    # the same seed twice within one experiment (a group may pool several experiments)
    counts = Counter((str(r.seed), identity_key(r.config)) for r in runs if r.seed is not UNSET)
    dupes = sorted({seed for (seed, _), n in counts.items() if n > 1})
    if dupes:
        notes.append(f"duplicate seed(s) {', '.join(dupes)}")
    return notes


def _pairing_notes(pairing: Pairing, paired: PairedComparison | None) -> list[str]:
    """Which seeds the paired columns leave out, and which pairs were cut to a common budget."""
    notes = []
    if pairing.left_out:
        notes.append(f"not paired with random: {', '.join(pairing.left_out)}")
    if paired is not None and paired.cut:
        notes.append(f"{paired.cut} pair(s) compared up to the shorter run's last budget")
    return notes


def _mean_curve_savings(group: Group, ref: Group, metric: str) -> tuple[float | None, str, str]:
    """Label savings of the group's mean curve against random's: (savings, status, note).

    Only when the group's runs and random's runs cover the same set of experiments
    (grouping.experiment_identity): otherwise one mean curve averages data, budgets or models
    the other does not, and the gap would not be the strategy's. How many seeds each experiment
    has may differ, as it may within a single experiment.
    """
    differ = experiments_differ(group.runs, ref.runs)
    if differ:
        note = f"no mean-curve label savings: {OTHER_EXPERIMENTS} (differ in {name_keys(differ)})"
        return None, OTHER_EXPERIMENTS, note
    rc, sc = mean_curve(ref.runs, metric), mean_curve(group.runs, metric)
    savings = label_savings((sc.n_labeled, sc.mean), (rc.n_labeled, rc.mean))
    return savings, NOT_REACHED if savings is None else "", ""


def _summarize_group(group: Group, randoms: Sequence[Group], metric: str) -> Summary:
    """One row: the group's own statistics, then everything measured against its random.

    A random group of another experiment (other values of the grouping keys) is no baseline:
    the row then has no savings and no paired statistics, and the note names the closest one.
    """
    stats, notes = _seed_stats(group.runs), _run_notes(group.runs)
    if group.is_random:
        return Summary(group, stats, 0.0, "", group.label, "; ".join(notes))
    ref, mismatched = pick_reference(group, randoms)
    if ref is None:
        return Summary(group, stats, None, NO_RANDOM, "", "; ".join(notes))
    if mismatched:
        notes.append(f"closest random group '{ref.label}' differs in {name_keys(mismatched)}")
        return Summary(group, stats, None, NO_SAME_RANDOM, "", "; ".join(notes))
    savings, status, savings_note = _mean_curve_savings(group, ref, metric)
    notes += [savings_note] if savings_note else []
    pairing = pair_by_seed(group.runs, ref.runs)
    paired = compare_paired(pairing, metric)
    notes += _pairing_notes(pairing, paired)
    return Summary(group, stats, savings, status, ref.label, "; ".join(notes), paired)


def summarize(groups: Sequence[Group], metric: str = "f1") -> list[Summary]:
    """Per-group rows, sorted by AUBC of ``metric`` (best first), with label savings on it."""
    randoms = [g for g in groups if g.is_random]
    rows = [_summarize_group(group, randoms, metric) for group in groups]
    rows.sort(key=lambda s: (-s.stats[f"aubc_{metric}"][0], s.group.label))
    return rows
