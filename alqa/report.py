"""A run's learning curve and phase timings as a Markdown table, for the terminal and notes."""

from __future__ import annotations

from typing import Any


def _score(value: float | None) -> str:
    """A score with two decimals; "—" for a run without an evaluation set."""
    return "—" if value is None else f"{value:.2f}"


def rounds_table(results: dict[str, Any]) -> str:
    """One row per round: labeled questions, EM/F1 and the seconds of each phase."""
    lines = [
        "| round | labeled | EM | F1 | train s | eval s | score s | select s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["rounds"]:
        lines.append(
            f"| {r['round']} | {r['n_labeled']} | {_score(r.get('em'))} | {_score(r.get('f1'))} | "
            f"{r['train_seconds']:.1f} | {r['eval_seconds']:.1f} | {r['score_seconds']:.1f} | "
            f"{r['select_seconds']:.2f} |"
        )
    if results["rounds"]:
        lines.append(
            f"AUBC EM {_score(results['aubc_em'])}, AUBC F1 {_score(results['aubc_f1'])}; "
            f"{len(results['rounds'])} of {results['planned_rounds']} rounds"
            f"{'' if results['finished'] else ' (not finished)'}"
        )
    return "\n".join(lines)
