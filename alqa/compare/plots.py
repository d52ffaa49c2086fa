"""learning_curve.png/.svg: every group's mean curve with its 95% CI band."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alqa.compare.grouping import RANDOM, Group
from alqa.compare.loading import METRICS
from alqa.compare.stats import MeanCurve, mean_curve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# EM and F1 live on 0-100; a t interval from few seeds can reach past either end.
SCORE_RANGE = (0.0, 100.0)
_DASHES = ["--", ":", "-.", (0, (5, 1, 1, 1))]


def _legend_label(group: Group, label: str) -> str:
    early = sum(r.stopped_early for r in group.runs)
    return f"{label} ({early}/{len(group.runs)} stopped early)" if early else label


def _draw_band(ax: Any, curve: MeanCurve, color: Any, zorder: float) -> None:
    """The CI band, clipped to the score range, wherever at least two runs have a score."""
    has_ci = np.isfinite(curve.ci)
    if not has_ci.any():
        return
    ci = np.where(has_ci, curve.ci, 0.0)
    ax.fill_between(
        curve.n_labeled,
        np.clip(curve.mean - ci, *SCORE_RANGE),
        np.clip(curve.mean + ci, *SCORE_RANGE),
        where=has_ci,
        color=color,
        alpha=0.18,
        linewidth=0,
        zorder=zorder - 1,
    )


def _draw_group(
    ax: Any, group: Group, metric: str, label: str, style: dict[str, Any], per_seed: bool
) -> None:
    """A group's mean curve and band, and with ``per_seed`` each run as a thin line under it."""
    zorder = style.get("zorder", 2)
    if per_seed:
        for run in group.runs:
            ax.plot(
                *run.curve(metric),
                color=style["color"],
                linestyle=style.get("linestyle", "-"),
                linewidth=0.7,
                alpha=0.45,
                zorder=zorder - 0.5,
            )
    curve = mean_curve(group.runs, metric)
    ax.plot(curve.n_labeled, curve.mean, label=label, **style)
    _draw_band(ax, curve, style["color"], zorder)


def _styled_groups(groups: Sequence[Group]) -> list[tuple[Group, str, dict[str, Any]]]:
    """(group, legend label, line style): a colour per strategy group, random in black on top."""
    from matplotlib import colormaps

    others = [g for g in groups if not g.is_random]
    randoms = [g for g in groups if g.is_random]
    cmap = colormaps["tab10" if len(others) <= 10 else "tab20"]
    styled = [
        (
            group,
            _legend_label(group, group.label),
            {"color": cmap(i % cmap.N), "marker": "o", "markersize": 3, "linewidth": 1.5},
        )
        for i, group in enumerate(others)
    ]
    for j, group in enumerate(randoms):
        label = _legend_label(group, "random (reference)" + group.label[len(RANDOM) :])
        style = {"color": "black", "linestyle": _DASHES[j % len(_DASHES)], "linewidth": 2}
        styled.append((group, label, {**style, "zorder": 10}))
    return styled


def learning_curve_figure(
    groups: Sequence[Group], metric: str = "f1", per_seed: bool = False
) -> Figure:
    """One panel per metric (``metric`` first): mean ± 95% CI per group, optionally each seed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    metrics = [metric] + [m for m in METRICS if m != metric]
    fig = Figure(figsize=(12, 5.5), layout="constrained")
    FigureCanvasAgg(fig)  # Agg, without touching pyplot's global backend
    axes = fig.subplots(1, len(metrics), sharex=True)
    styled = _styled_groups(groups)
    for ax, m in zip(axes, metrics, strict=True):
        for group, label, style in styled:
            _draw_group(ax, group, m, label, style, per_seed)
        what = "mean ± 95% CI; thin: seeds" if per_seed else "mean ± 95% CI over seeds"
        ax.set_title(f"{m.upper()} vs labeled questions ({what})")
        ax.set_xlabel("labeled questions")
        ax.set_ylabel(f"{m.upper()} (0-100)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncols=min(3, len(labels)), fontsize="small"
    )
    return fig


def plot_learning_curves(
    groups: Sequence[Group], out_dir: Path, metric: str = "f1", per_seed: bool = False
) -> list[Path]:
    """learning_curve.png/.svg: mean ± 95% CI per group, random drawn on top as the reference."""
    fig = learning_curve_figure(groups, metric, per_seed)
    paths = [out_dir / "learning_curve.png", out_dir / "learning_curve.svg"]
    fig.savefig(paths[0], dpi=150)
    fig.savefig(paths[1], metadata={"Date": None})  # reproducible SVG
    return paths
