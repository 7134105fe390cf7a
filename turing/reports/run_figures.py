"""Figures of a run, drawn from its folder alone.

``plots/parameters.png``: each parameter's best and top-10-median value per generation,
with the genuine value as a line (one panel per parameter). ``plots/fitness.png``: fitness
of both populations and the interrogators' accuracy on genuine and on model trials per
generation, and a method's losses (the gradient-trained baselines') on an axis of their own.
A system may add its own (e.g. a sensor layout drawing).
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt

from turing.contracts.presentation import presentation
from turing.contracts.system import System
from turing.runs.files import plot_atomically


def plot_run(result, system: System) -> list[Path]:
    """Draws every figure of ``result`` into its ``plots/`` folder; returns the paths.

    The figures are drawn into a temporary folder and renamed into ``plots/``
    (:func:`turing.runs.files.plot_atomically`): a kill never leaves half a PNG.

    Raises:
        UserError: if ``plots`` is not a folder, or the history cannot be read.
    """
    history = result.history

    def draw(folder: Path) -> list[Path]:
        paths = []
        if "generation" in history:
            paths.append(plot_parameters(history, system, result, folder / "parameters.png"))
            fitness = plot_fitness(history, result, folder / "fitness.png")
            if fitness:
                paths.append(fitness)
        return paths + [Path(p) for p in presentation(system).plot(result, folder)]

    return plot_atomically(Path(result.path) / "plots", draw)


def plot_parameters(history, system: System, result, path: Path) -> Path:
    names = system.parameter_names
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.4 * cols, 2.6 * rows), squeeze=False, sharex=True
    )
    generation = history["generation"]
    for k, parameter in enumerate(system.parameters):
        ax = axes[k // cols][k % cols]
        name = parameter.name
        ax.plot(
            generation,
            history[f"best_{name}"],
            lw=0.8,
            color="tab:blue",
            alpha=0.6,
            label="best model",
        )
        if f"top10_{name}" in history:
            ax.plot(
                generation,
                history[f"top10_{name}"],
                lw=1.4,
                color="tab:orange",
                label="top-10 median",
            )
        ax.axhline(result.true_params[name], color="k", ls="--", lw=1, label="genuine")
        unit = f" ({parameter.unit})" if parameter.unit else ""
        ax.set_title(f"{name}{unit}", fontsize=10)
        ax.set_ylim(parameter.low - 0.02 * parameter.width, parameter.high + 0.02 * parameter.width)
        ax.grid(alpha=0.3)
    for k in range(len(names), rows * cols):
        axes[k // cols][k % cols].axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("generation")
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{result.system} | {result.mode} | seed {result.seed}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_fitness(history, result, path: Path) -> Path | None:
    series = [
        ("model_fitness_mean", "models: mean fitness", "tab:blue", "-"),
        ("model_fitness_best", "models: best fitness", "tab:blue", ":"),
        ("interrogator_accuracy_mean", "interrogators: mean accuracy", "tab:red", "-"),
        ("interrogator_accuracy_best", "interrogators: best accuracy", "tab:red", ":"),
        ("accuracy_genuine", "accuracy on genuine trials", "tab:green", "-"),
        ("accuracy_model", "accuracy on model trials", "tab:purple", "-"),
    ]
    present = [s for s in series if s[0] in history]
    losses = [k for k in history if k.endswith("_loss")]
    if not present and not losses:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.8))
    generation = history["generation"]
    for key, label, color, style in present:
        ax.plot(generation, history[key], color=color, ls=style, lw=1.2, label=label)
    if present:
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("fraction")
    # Losses are unbounded (log 2 = chance for a cross-entropy), so next to fractions they
    # get an axis of their own on the right instead of being cut off at 1.
    loss_ax = ax.twinx() if present and losses else ax
    colors = iter(["tab:orange", "tab:brown", "tab:olive", "tab:cyan", "tab:pink", "tab:gray"])
    for key in losses:
        loss_ax.plot(
            generation,
            history[key],
            color=next(colors, None),
            ls="--",
            lw=1.2,
            label=key.replace("_", " "),
        )
    if losses:
        loss_ax.set_ylabel("loss")
    ax.set_xlabel("generation")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if loss_ax is not ax:
        more_handles, more_labels = loss_ax.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, fontsize=8, loc="best")
    ax.set_title(f"{result.system} | {result.mode} | seed {result.seed}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
