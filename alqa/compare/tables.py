"""The comparison as text: a Markdown table for people and a CSV for further analysis."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from alqa.compare.grouping import format_value
from alqa.compare.summary import Summary


def _pm(stat: tuple[float, float | None]) -> str:
    mean, ci = stat
    return f"{mean:.1f}" if ci is None else f"{mean:.1f} ± {ci:.1f}"


def _savings_text(row: Summary) -> str:
    if row.savings is None:
        return row.savings_status
    rounded = round(row.savings)
    return "0" if rounded == 0 else f"{rounded:+d}"


def markdown_table(rows: Sequence[Summary], metric: str = "f1") -> str:
    """Readable Markdown table (scores to one decimal, mean ± 95% CI half-width over seeds)."""
    header = [
        "group",
        "seeds",
        "AUBC F1",
        "AUBC EM",
        "final F1",
        "final EM",
        f"label savings vs random ({metric.upper()})",
        "note",
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["--:"] * 6 + ["---"]) + "|",
    ]
    for row in rows:
        cells = [
            row.group.label,
            str(row.n_seeds),
            _pm(row.stats["aubc_f1"]),
            _pm(row.stats["aubc_em"]),
            _pm(row.stats["final_f1"]),
            _pm(row.stats["final_em"]),
            _savings_text(row),
            row.note,
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def write_markdown(
    rows: Sequence[Summary], path: Path, metric: str, keys: Sequence[str], inputs: Sequence[Path]
) -> None:
    """comparison.md: the table plus how it was computed, so the file stands on its own."""
    grouping = ", ".join(["strategy.name", *keys])
    text = "\n".join(
        [
            "# Active-learning run comparison",
            "",
            f"{sum(r.n_seeds for r in rows)} runs from {len(inputs)} results.json file(s), "
            f"grouped by {grouping}.",
            "",
            markdown_table(rows, metric),
            "",
            "Scores are on a 0-100 scale, shown as mean ± 95% CI half-width over seeds "
            "(Student t; no CI with one seed). AUBC is recomputed from the rounds. Label "
            f"savings: labels random needed for its final {metric.upper()} minus the "
            "(interpolated) labels the group's mean curve needed to reach it; negative means "
            "more labels than random.",
            "",
        ]
    )
    path.write_text(text, encoding="utf-8")


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def write_csv(rows: Sequence[Summary], path: Path, metric: str, keys: Sequence[str]) -> None:
    """comparison.csv: numeric mean and CI columns (CI empty for one seed) for further analysis."""
    stat_names = ["aubc_f1", "aubc_em", "final_f1", "final_em", "final_n_labeled"]
    header = ["group", "strategy", *keys, "n_seeds"]
    for name in stat_names:
        header += [f"{name}_mean", f"{name}_ci"]
    header += [f"label_savings_{metric}", "label_savings_status", "random_reference", "note"]

    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            line = [row.group.label, row.group.strategy]
            line += [format_value(row.group.key_values[k]) for k in keys]
            line.append(str(row.n_seeds))
            for name in stat_names:
                mean, ci = row.stats[name]
                line += [_num(mean), _num(ci)]
            line += [_num(row.savings), row.savings_status, row.reference, row.note]
            writer.writerow(line)
