"""comparison.png: per study, learning curves (mean ± std over seeds) of the monitored metric, the
final metric of every run per group (points, mean and 95% t-interval), per-horizon error curves
when the runs record them; and the critical-difference diagram when variants are ranked."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from rnnlab.report.analysis import Comparison, Study
from rnnlab.report.curves import mean_band, scalar_curve


def plot(comparison: Comparison, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    studies = comparison.studies
    horizon = any(run.per_horizon for s in studies for g in s.groups for run in g.runs)
    columns = 3 if horizon else 2
    rows = len(studies) + (1 if comparison.ranking is not None else 0)
    heights = [1.0] * len(studies) + ([0.8] if comparison.ranking is not None else [])
    figure = plt.figure(figsize=(5.2 * columns, 3.6 * sum(heights)), layout="constrained")
    grid = figure.add_gridspec(rows, columns, height_ratios=heights)
    colors = plt.get_cmap("tab10")
    for row, study in enumerate(studies):
        color = {g.label: colors(i % 10) for i, g in enumerate(study.groups)}
        prefix = f"{study.label}\n" if study.label else ""
        _learning_curves(figure.add_subplot(grid[row, 0]), study, color, prefix)
        _final_values(figure.add_subplot(grid[row, 1]), study, color, prefix)
        if horizon:
            _per_horizon(figure.add_subplot(grid[row, 2]), study, color, prefix)
    if comparison.ranking is not None:  # one axis across the last row
        _critical_difference(figure.add_subplot(grid[-1, :]), comparison)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _learning_curves(ax, study: Study, color: dict, prefix: str) -> None:
    tag = study.curve_metric
    drawn = False
    for group in study.groups:
        curves = [c for run in group.runs if tag and (c := scalar_curve(run, tag)) is not None]
        band = mean_band(curves)
        if band is None:
            continue
        steps, mean, std = band
        ax.plot(steps, mean, marker=".", color=color[group.label], label=group.label)
        ax.fill_between(steps, mean - std, mean + std, color=color[group.label], alpha=0.2)
        drawn = True
    ax.set_title(f"{prefix}{tag or 'monitored metric'} (mean ± std over seeds)", fontsize=9)
    ax.set_xlabel("step")
    if drawn:
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no TensorBoard curves", ha="center", va="center", transform=ax.transAxes)


def _final_values(ax, study: Study, color: dict, prefix: str) -> None:
    metric = study.metric
    rng = np.random.default_rng(0)
    for i, group in enumerate(study.groups):
        values = group.values.get(metric, [])
        if not values:
            continue
        jitter = rng.uniform(-0.12, 0.12, len(values))
        ax.scatter(i + jitter, values, color=color[group.label], alpha=0.8, zorder=3)
        summary = group.summaries[metric]
        low, high = summary.ci
        if math.isfinite(low):
            ax.errorbar(
                i + 0.3,
                summary.mean,
                yerr=[[summary.mean - low], [high - summary.mean]],
                fmt="D",
                color="black",
                capsize=4,
                markersize=5,
            )
        else:
            ax.plot(i + 0.3, summary.mean, "D", color="black", markersize=5)
    ax.set_xticks(range(len(study.groups)), [g.label for g in study.groups], fontsize=8)
    ax.set_title(f"{prefix}{metric}: runs, mean and 95% CI ({study.direction})", fontsize=9)


def _per_horizon(ax, study: Study, color: dict, prefix: str) -> None:
    name = next((n for g in study.groups for r in g.runs for n in r.per_horizon), None)
    for group in study.groups:
        curves = [r.per_horizon[name] for r in group.runs if name in r.per_horizon]
        if not curves:
            continue
        length = min(map(len, curves))
        table = np.array([c[:length] for c in curves])
        mean = table.mean(axis=0)
        std = table.std(axis=0, ddof=1) if len(table) > 1 else np.zeros(length)
        steps = np.arange(1, length + 1)
        ax.plot(steps, mean, marker=".", color=color[group.label], label=group.label)
        ax.fill_between(steps, mean - std, mean + std, color=color[group.label], alpha=0.2)
    ax.set_title(f"{prefix}{name or 'per-horizon error'} by horizon", fontsize=9)
    ax.set_xlabel("frames ahead")
    if name:
        ax.legend(fontsize=8)


def _critical_difference(ax, comparison: Comparison) -> None:
    """Demšar's diagram: the rank axis, each variant at its average rank, the CD bar, and a thick
    line joining variants whose ranks differ by less than CD."""
    ranking = comparison.ranking
    assert ranking is not None
    k = len(ranking.variants)
    cd = ranking.critical_difference
    ax.set_xlim(0.5, max(k, 1 + cd) + 0.5)
    ax.set_ylim(-1.6 - 0.35 * len(ranking.cliques), 1.2)
    ax.axis("off")
    ax.hlines(0, 1, k, color="black")
    for r in range(1, k + 1):
        ax.vlines(r, -0.08, 0.08, color="black")
        ax.text(r, 0.18, str(r), ha="center", fontsize=8)
    order = sorted(zip(ranking.average_ranks, ranking.variants, strict=True))
    for i, (rank, name) in enumerate(order):
        y = -0.4 - 0.3 * (i % 3)
        ax.vlines(rank, y, 0, color="gray", linewidth=0.8)
        ax.text(rank, y - 0.12, f"{name} ({rank:.2f})", ha="center", va="top", fontsize=8)
    ax.hlines(0.75, 1, 1 + cd, color="black", linewidth=2)
    ax.text(1 + cd / 2, 0.85, f"CD = {cd:.2f}", ha="center", fontsize=8)
    for j, clique in enumerate(ranking.cliques):
        ranks = [r for r, n in order if n in clique]
        y = -1.5 - 0.3 * j
        ax.hlines(y, min(ranks) - 0.05, max(ranks) + 0.05, color="black", linewidth=3)
    ax.set_title(
        f"average rank over {ranking.studies} studies (1 = best), Nemenyi CD at alpha=0.05",
        fontsize=9,
    )
