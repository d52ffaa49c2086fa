"""A run's learning curve and phase timings as a Markdown table, for the terminal and notes."""

from __future__ import annotations

from typing import Any


def rounds_table(results: dict[str, Any]) -> str:
    """One row per round: labeled questions, EM/F1 and the seconds of each phase."""
    lines = [
        "| round | labeled | EM | F1 | train s | eval s | score s | select s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results["rounds"]:
        lines.append(
            f"| {r['round']} | {r['n_labeled']} | {r['em']:.2f} | {r['f1']:.2f} | "
            f"{r['train_seconds']:.1f} | {r['eval_seconds']:.1f} | {r['score_seconds']:.1f} | "
            f"{r['select_seconds']:.2f} |"
        )
    if results["rounds"]:
        lines.append(
            f"AUBC EM {results['aubc_em']:.2f}, AUBC F1 {results['aubc_f1']:.2f}; "
            f"{len(results['rounds'])} of {results['planned_rounds']} rounds"
            f"{'' if results['finished'] else ' (not finished)'}"
        )
    return "\n".join(lines)
