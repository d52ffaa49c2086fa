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


def _p_text(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _paired_text(row: Summary) -> str:
    """``+3.2 ± 1.1 (p=0.004)``: the paired AUBC F1 delta; only what the pairs support."""
    if row.paired is None:
        return ""
    delta = row.paired.aubc_f1
    text = f"{delta.mean:+.1f}" if delta.ci is None else f"{delta.mean:+.1f} ± {delta.ci:.1f}"
    if delta.p_value is not None:
        text += f" ({_p_text(delta.p_value)})"
    return text


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
        "paired Δ AUBC F1 vs random",
        "note",
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["--:"] * 7 + ["---"]) + "|",
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
            _paired_text(row),
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
            "Paired Δ: runs with the same seed share the initial labeled set and the evaluation "
            "subset, so each run is paired with the random run of the same seed (in the random "
            "group named in the CSV's random_reference) and the table shows the mean over seeds "
            "of (strategy - random) AUBC F1 ± 95% CI half-width (Student t) and the two-sided "
            "paired t-test p. One pair: the difference alone, no interval, no p. The same "
            "difference on every seed has a zero-width interval; identical curves get p = 1, a "
            "constant non-zero difference no t-test p (zero variance). A pair whose runs "
            "stopped at different budgets is compared up to the last budget both reached; seeds "
            "without a random partner are left out and named in the note. comparison.csv adds "
            "the final-F1 delta, Wilcoxon signed-rank p-values (from 6 pairs on) and label "
            f"savings computed seed by seed on {metric.upper()} (mean ± CI over the seeds that "
            "reached random's final score, and how many did not).",
            "",
        ]
    )
    path.write_text(text, encoding="utf-8")


def _num(value: float | None, spec: str = ".6f") -> str:
    return "" if value is None else format(value, spec)


PAIRED_COLUMNS = [
    "paired_n_seeds",
    "paired_delta_aubc_f1",
    "paired_delta_ci95",
    "paired_p_value",
    "paired_wilcoxon_p_value",
    "paired_delta_final_f1",
    "paired_delta_final_f1_ci95",
    "paired_final_f1_p_value",
    "paired_final_f1_wilcoxon_p_value",
    "paired_label_savings_mean",
    "paired_label_savings_ci95",
    "paired_label_savings_not_reached",
]


def _paired_cells(row: Summary) -> list[str]:
    """The PAIRED_COLUMNS of a row, all empty for random itself and where nothing paired."""
    paired = row.paired
    if paired is None:
        return [""] * len(PAIRED_COLUMNS)
    cells = [str(paired.n_pairs)]
    for delta in (paired.aubc_f1, paired.final_f1):
        # p-values in significant digits, so a tiny one does not print as 0.000000
        cells += [_num(delta.mean), _num(delta.ci)]
        cells += [_num(delta.p_value, ".6g"), _num(delta.wilcoxon_p, ".6g")]
    savings = paired.savings
    return cells + [_num(savings.mean), _num(savings.ci), str(savings.n_not_reached)]


def write_csv(rows: Sequence[Summary], path: Path, metric: str, keys: Sequence[str]) -> None:
    """comparison.csv: numeric mean and CI columns (CI empty for one seed) for further analysis."""
    stat_names = ["aubc_f1", "aubc_em", "final_f1", "final_em", "final_n_labeled"]
    header = ["group", "strategy", *keys, "n_seeds"]
    for name in stat_names:
        header += [f"{name}_mean", f"{name}_ci"]
    header += [f"label_savings_{metric}", "label_savings_status", "random_reference"]
    header += [*PAIRED_COLUMNS, "note"]

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
            line += [_num(row.savings), row.savings_status, row.reference]
            line += [*_paired_cells(row), row.note]
            writer.writerow(line)
