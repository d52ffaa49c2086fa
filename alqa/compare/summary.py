"""One summary row per group: seed-aggregated scores and label savings against random."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alqa.compare.grouping import Group, pick_reference
from alqa.compare.loading import METRICS, UNSET, Run
from alqa.compare.pairing import PairedComparison, Pairing, compare_paired, pair_by_seed
from alqa.compare.stats import mean_ci, mean_curve
from alqa.curves import label_savings


@dataclass(frozen=True)
class Summary:
    """One table row: seed-aggregated scores of a group and its savings against random."""

    group: Group
    stats: dict[str, tuple[float, float | None]]  # e.g. "aubc_f1" -> (mean, ci half-width)
    savings: float | None
    savings_status: str  # "" when savings is a number, else "not reached"/"no random baseline"
    reference: str
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
    seeds = [r.seed for r in runs if r.seed is not UNSET]
    dupes = sorted({str(s) for s in seeds if seeds.count(s) > 1})
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


def _summarize_group(group: Group, randoms: Sequence[Group], metric: str) -> Summary:
    """One row: the group's own statistics, then everything measured against its random."""
    stats, notes = _seed_stats(group.runs), _run_notes(group.runs)
    if group.is_random:
        return Summary(group, stats, 0.0, "", group.label, "; ".join(notes))
    ref, mismatched = pick_reference(group, randoms)
    if ref is None:
        return Summary(group, stats, None, "no random baseline", "", "; ".join(notes))
    if mismatched:
        notes.append(f"random baseline '{ref.label}' differs in {', '.join(mismatched)}")
    rc, sc = mean_curve(ref.runs, metric), mean_curve(group.runs, metric)
    savings = label_savings((sc.n_labeled, sc.mean), (rc.n_labeled, rc.mean))
    pairing = pair_by_seed(group.runs, ref.runs)
    paired = compare_paired(pairing, metric)
    notes += _pairing_notes(pairing, paired)
    status = "not reached" if savings is None else ""
    return Summary(group, stats, savings, status, ref.label, "; ".join(notes), paired)


def summarize(groups: Sequence[Group], metric: str = "f1") -> list[Summary]:
    """Per-group rows, sorted by AUBC of ``metric`` (best first), with label savings on it."""
    randoms = [g for g in groups if g.is_random]
    rows = [_summarize_group(group, randoms, metric) for group in groups]
    rows.sort(key=lambda s: (-s.stats[f"aubc_{metric}"][0], s.group.label))
    return rows
