"""One summary row per group: seed-aggregated scores and label savings against random."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alqa.compare.grouping import Group, pick_reference
from alqa.compare.loading import METRICS, UNSET, Run
from alqa.compare.stats import mean_ci, mean_curve
from alqa.curves import area_under_budget_curve, label_savings


@dataclass(frozen=True)
class Summary:
    """One table row: seed-aggregated scores of a group and its savings against random."""

    group: Group
    stats: dict[str, tuple[float, float | None]]  # e.g. "aubc_f1" -> (mean, ci half-width)
    savings: float | None
    savings_status: str  # "" when savings is a number, else "not reached"/"no random baseline"
    reference: str
    note: str

    @property
    def n_seeds(self) -> int:
        return len(self.group.runs)


def _seed_stats(runs: Sequence[Run]) -> dict[str, tuple[float, float | None]]:
    """AUBC and final score per metric, recomputed from the rounds, as mean ± CI over seeds."""
    stats: dict[str, tuple[float, float | None]] = {}
    for m in METRICS:
        stats[f"aubc_{m}"] = mean_ci(
            [area_under_budget_curve(r.n_labeled, r.scores[m]) for r in runs]
        )
        stats[f"final_{m}"] = mean_ci([float(r.scores[m][-1]) for r in runs])
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


def summarize(groups: Sequence[Group], metric: str = "f1") -> list[Summary]:
    """Per-group rows, sorted by AUBC of ``metric`` (best first), with label savings on it."""
    randoms = [g for g in groups if g.is_random]
    rows = []
    for group in groups:
        notes = _run_notes(group.runs)
        ref, mismatched = pick_reference(group, randoms)
        savings: float | None = None
        status = ""
        reference = ""
        if group.is_random:
            savings, reference = 0.0, group.label
        elif ref is None:
            status = "no random baseline"
        else:
            reference = ref.label
            rc, sc = mean_curve(ref.runs, metric), mean_curve(group.runs, metric)
            savings = label_savings((sc.n_labeled, sc.mean), (rc.n_labeled, rc.mean))
            if savings is None:
                status = "not reached"
            if mismatched:
                notes.append(f"savings vs '{ref.label}' (differs in {', '.join(mismatched)})")
        rows.append(
            Summary(group, _seed_stats(group.runs), savings, status, reference, "; ".join(notes))
        )
    rows.sort(key=lambda s: (-s.stats[f"aubc_{metric}"][0], s.group.label))
    return rows
