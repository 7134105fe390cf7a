"""Figures of a comparison, in the paper's style, drawn from its summary and run folders.

``plots/box_<estimate>.png``: for each of the three estimates, one panel per parameter (and
per system metric, and the C2ST where runs recorded one) with one box per method over
seeds, every run drawn as a dot (comparisons often have few seeds). ``plots/
convergence_<estimate>.png``: for the best model and the top-10 median, each parameter's
absolute error per generation, median over seeds with the interquartile range as a band,
one line per method. Axes switch to a log scale when the values span well over a decade;
every y axis says its unit (from ``result.json``) and whether it is logarithmic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from turing.reports.quantities import (
    CONVERGENCE_PREFIXES,
    CONVERGENCE_SUFFIXES,
    ESTIMATES,
    axis_label,
    quantity_label,
    quantity_unit,
)
from turing.runs.result import ESTIMATE_LABELS, Result


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt


def _panel_grid(plt, panels: int, width: float = 3.2, height: float = 2.7):
    cols = min(4, panels)
    rows = math.ceil(panels / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for k in range(panels, rows * cols):
        axes[k // cols][k % cols].axis("off")
    return fig, [axes[k // cols][k % cols] for k in range(panels)]


def _log_axis(ax) -> None:
    from matplotlib.ticker import NullFormatter

    ax.set_yscale("log")
    ax.yaxis.set_minor_formatter(NullFormatter())  # labels on decades only


def _log_scale_reads_better(values: Iterable[float]) -> bool:
    # Errors of different methods often differ by orders of magnitude (0.003 vs 0.6): a log
    # axis shows both, but only works when every value is positive.
    array = np.asarray([v for v in values if math.isfinite(v)], dtype=np.float64)
    return array.size > 1 and bool(np.all(array > 0)) and array.max() / array.min() > 30


def plot_boxes(summary, folder: Path) -> list[Path]:
    """Box plots of each quantity over seeds, one box per method and one panel per parameter
    (plus the system's metrics and C2ST), one figure per estimate: ``plots/box_<estimate>.png``.

    Every run is also drawn as a dot, since a comparison often has only a few seeds.
    """
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for estimate in ESTIMATES:
        quantities = [f"abs_error_{p}" for p in summary.parameters] + summary.metric_names(estimate)
        quantities += (
            ["c2st"] if any(summary.has(m, estimate, "c2st") for m in summary.methods) else []
        )
        quantities = [
            q for q in quantities if any(summary.has(m, estimate, q) for m in summary.methods)
        ]
        if not quantities:
            continue
        fig, axes = _panel_grid(
            plt, len(quantities), width=max(3.2, 0.7 * len(summary.methods) + 1.2)
        )
        for ax, quantity in zip(axes, quantities, strict=True):
            samples = [
                [
                    c.values.get((estimate, quantity), math.nan)
                    for c in summary.cells
                    if c.method == m
                ]
                for m in summary.methods
            ]
            samples = [[v for v in s if math.isfinite(v)] for s in samples]
            positions = [k + 1 for k, s in enumerate(samples) if s]
            boxes = ax.boxplot(
                [s for s in samples if s],
                positions=positions,
                widths=0.6,
                showfliers=False,
                patch_artist=True,
                medianprops={"color": "k"},
            )
            for box, position in zip(boxes["boxes"], positions, strict=True):
                box.set(facecolor=f"C{(position - 1) % 10}", alpha=0.25)
            for k, sample in enumerate(samples):
                offsets = (
                    np.linspace(-0.15, 0.15, len(sample))
                    if len(sample) > 1
                    else np.zeros(len(sample))
                )
                ax.scatter(k + 1 + offsets, sample, s=10, color=f"C{k % 10}", alpha=0.8, zorder=3)
            log = quantity != "c2st" and _log_scale_reads_better(v for s in samples for v in s)
            if quantity == "c2st":
                ax.axhline(0.5, color="grey", ls="--", lw=0.8)
            elif log:
                _log_axis(ax)
            what = "accuracy" if quantity == "c2st" else "value"
            if quantity.startswith("abs_error_"):
                what = "|error|"
            ax.set_ylabel(axis_label(what, quantity_unit(quantity, summary.units), log), fontsize=8)
            ax.set_xticks(
                range(1, len(summary.methods) + 1),
                summary.methods,
                rotation=30,
                ha="right",
                fontsize=8,
            )
            ax.set_title(quantity_label(quantity), fontsize=9)
            ax.grid(axis="y", alpha=0.3)
        fig.suptitle(
            f"{summary.title or summary.system}: {ESTIMATE_LABELS[estimate]} estimate", fontsize=10
        )
        fig.tight_layout()
        path = folder / f"box_{estimate}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def _running_median(stack: np.ndarray, window: int) -> np.ndarray:
    """The running median over the last ``window`` generations of each row (the first
    generations over as many as there are)."""
    if window <= 1:
        return stack
    padded = np.concatenate([np.repeat(stack[:, :1], window - 1, axis=1), stack], axis=1)
    views = np.lib.stride_tricks.sliding_window_view(padded, window, axis=1)
    return np.nanmedian(views, axis=-1)


def plot_convergence(summary, results: Sequence[Result], folder: Path) -> list[Path]:
    """Per-generation errors (and system metrics), median over seeds with the interquartile
    range as a band, one line per method and one panel per parameter:
    ``plots/convergence_<estimate>.png`` for the best model and the top-10 median. Each
    seed's curve is first smoothed by a running median over 1% of the generations (10 of
    1000), so that the band shows the spread between seeds rather than generation noise."""
    plt = _pyplot()
    folder.mkdir(parents=True, exist_ok=True)
    histories = {
        m: [r.history for r in results if summary.method_of(r) == m] for m in summary.methods
    }
    paths = []
    for estimate, prefix in CONVERGENCE_PREFIXES.items():
        columns = [
            (f"{prefix}{p}", f"|error| of {p}", quantity_unit(f"abs_error_{p}", summary.units))
            for p in summary.parameters
        ]
        columns += [
            (f"{q}{CONVERGENCE_SUFFIXES[estimate]}", q.replace("_", " "), quantity_unit(q, {}))
            for q in summary.metric_names(estimate)
        ]
        columns = [c for c in columns if any(c[0] in h for hs in histories.values() for h in hs)]
        if not columns:
            continue
        fig, axes = _panel_grid(plt, len(columns), width=3.6)
        for ax, (column, label, unit) in zip(axes, columns, strict=True):
            drawn: list[float] = []
            for k, method in enumerate(summary.methods):
                series = [h[column] for h in histories[method] if column in h and len(h[column])]
                if not series:
                    continue
                length = min(len(s) for s in series)  # equal for finished runs of one grid
                stack = np.stack([np.asarray(s[:length], dtype=np.float64) for s in series])
                window = max(1, length // 100)
                q25, median, q75 = np.nanpercentile(
                    _running_median(stack, window), [25, 50, 75], axis=0
                )
                generation = np.arange(length)
                ax.plot(generation, median, color=f"C{k % 10}", lw=1.3, label=method)
                ax.fill_between(generation, q25, q75, color=f"C{k % 10}", alpha=0.2, lw=0)
                drawn += list(q25) + list(q75)
            log = _log_scale_reads_better(drawn)
            if log:
                _log_axis(ax)
            what = "|error|" if label.startswith("|error|") else "value"
            ax.set_ylabel(axis_label(what, unit, log), fontsize=8)
            ax.set_title(label, fontsize=9)
            ax.set_xlabel("generation", fontsize=8)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7, loc="best")
        fig.suptitle(
            f"{summary.title or summary.system}: {ESTIMATE_LABELS[estimate]}, "
            "median and IQR over seeds",
            fontsize=10,
        )
        fig.tight_layout()
        path = folder / f"convergence_{estimate}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths
