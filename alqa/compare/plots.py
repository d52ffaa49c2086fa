"""learning_curve.png/.svg: every group's mean curve with its 95% CI band."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alqa.compare.grouping import RANDOM, Group
from alqa.compare.loading import METRICS
from alqa.compare.stats import MeanCurve, mean_curve


def _legend_label(group: Group, label: str) -> str:
    early = sum(r.stopped_early for r in group.runs)
    return f"{label} ({early}/{len(group.runs)} stopped early)" if early else label


def _draw(ax: Any, curve: MeanCurve, label: str, style: dict[str, Any], band: str) -> None:
    ax.plot(curve.n_labeled, curve.mean, label=label, **style)
    has_ci = np.isfinite(curve.ci)
    if has_ci.any():
        ci = np.where(has_ci, curve.ci, 0.0)
        ax.fill_between(
            curve.n_labeled,
            curve.mean - ci,
            curve.mean + ci,
            where=has_ci,
            color=band,
            alpha=0.18,
            linewidth=0,
            zorder=style.get("zorder", 2) - 1,
        )


def plot_learning_curves(groups: Sequence[Group], out_dir: Path, metric: str = "f1") -> list[Path]:
    """learning_curve.png/.svg: mean ± 95% CI per group, random drawn on top as the reference."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    metrics = [metric] + [m for m in METRICS if m != metric]
    others = [g for g in groups if not g.is_random]
    randoms = [g for g in groups if g.is_random]
    cmap = colormaps["tab10" if len(others) <= 10 else "tab20"]
    dashes = ["--", ":", "-.", (0, (5, 1, 1, 1))]

    fig = Figure(figsize=(12, 5.5), layout="constrained")
    FigureCanvasAgg(fig)  # Agg, without touching pyplot's global backend
    axes = fig.subplots(1, len(metrics), sharex=True)

    for ax, m in zip(axes, metrics, strict=True):
        for i, group in enumerate(others):
            color = cmap(i % cmap.N)
            style = {"color": color, "marker": "o", "markersize": 3, "linewidth": 1.5}
            _draw(ax, mean_curve(group.runs, m), _legend_label(group, group.label), style, color)
        for j, group in enumerate(randoms):
            label = _legend_label(group, "random (reference)" + group.label[len(RANDOM) :])
            style = {
                "color": "black",
                "linestyle": dashes[j % len(dashes)],
                "linewidth": 2,
                "zorder": 10,
            }
            _draw(ax, mean_curve(group.runs, m), label, style, "black")
        ax.set_title(f"{m.upper()} vs labeled questions (mean ± 95% CI over seeds)")
        ax.set_xlabel("labeled questions")
        ax.set_ylabel(f"{m.upper()} (0-100)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncols=min(3, len(labels)), fontsize="small"
    )
    paths = [out_dir / "learning_curve.png", out_dir / "learning_curve.svg"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1], metadata={"Date": None})  # reproducible SVG
    return paths
