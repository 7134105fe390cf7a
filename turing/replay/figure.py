"""The replay figure: observations, inputs and the interrogator's running judgement of a
genuine and a model trial, step by step; and :class:`Episode`, one replayed trial pair."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from turing.contracts.system import System


@dataclass
class Episode:
    """One replayed trial pair (last axis: genuine, model).

    Attributes:
        observation: ``[T, obs, 2]``.
        judgement: ``[T, 2]`` the interrogator's output 0 after each observation.
        action: ``[T - 1, act, 2]`` the inputs applied between observations.
        judged_genuine: ``[2]`` the final judgements.
    """

    observation: np.ndarray
    judgement: np.ndarray
    action: np.ndarray
    judged_genuine: np.ndarray

    @property
    def correct(self) -> np.ndarray:
        """``[2]``: the genuine trial judged genuine, the model judged counterfeit."""
        return np.array([bool(self.judged_genuine[0]), not bool(self.judged_genuine[1])])


def draw_figure(
    system: System, episodes: list[Episode], labels: tuple[str, str], steps: int, figsize=None
):
    """The replay figure: per trial pair (columns), the observations, the actions and the
    interrogator's running judgement of the genuine and the model trial over the steps.

    Observations with more than four channels are drawn as images (channels x steps), one
    per trial; fewer as lines (genuine solid, model dashed).

    Returns:
        the matplotlib figure.
    """
    import matplotlib
    from matplotlib.figure import Figure  # no pyplot: no backend, no global figure list

    many = system.observation_size > 4
    rows = ["obs-genuine", "obs-model"] if many else ["obs"]
    rows += ["action", "judgement"]
    columns = min(len(episodes), 4)
    fig = Figure(figsize=figsize or (4.6 * columns, 1.9 * len(rows) + 0.6))
    axes = fig.subplots(len(rows), columns, squeeze=False, sharex=True)
    obs_names = _names(system.observation_names, system.observation_size, "obs")
    act_names = _names(system.action_names, system.action_size, "action")
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    small = figsize is not None
    for c, episode in enumerate(episodes[:columns]):
        t = np.arange(len(episode.observation))
        for r, row in enumerate(rows):
            ax = axes[r][c]
            if row.startswith("obs-"):
                k = 0 if row == "obs-genuine" else 1
                image = np.full((system.observation_size, steps), np.nan)
                image[:, : len(t)] = episode.observation[:, :, k].T
                ax.imshow(
                    image,
                    aspect="auto",
                    interpolation="nearest",
                    origin="lower",
                    cmap="viridis",
                    vmin=np.nanmin([system.observation_low, 0.0])
                    if np.isfinite(system.observation_low)
                    else None,
                    vmax=system.observation_high if np.isfinite(system.observation_high) else None,
                    extent=(-0.5, steps - 0.5, -0.5, system.observation_size - 0.5),
                )
                ax.set_ylabel(f"{labels[k]}\nobs", fontsize=8)
                if system.observation_size <= 12:
                    ax.set_yticks(range(system.observation_size), obs_names, fontsize=6)
            elif row == "obs":
                for i in range(system.observation_size):
                    for k, style in ((0, "-"), (1, "--")):
                        ax.plot(
                            t,
                            episode.observation[:, i, k],
                            style,
                            color=colors[i % len(colors)],
                            lw=1,
                            label=f"{obs_names[i]} ({labels[k]})",
                        )
                ax.set_ylabel(
                    ", ".join(obs_names) if system.observation_size <= 2 else "observation",
                    fontsize=8,
                )
            elif row == "action":
                ta = np.arange(len(episode.action))
                for i in range(system.action_size):
                    for k, style in ((0, "-"), (1, "--")):
                        ax.plot(
                            ta,
                            episode.action[:, i, k],
                            style,
                            color=colors[i % len(colors)],
                            lw=1,
                            label=f"{act_names[i]} ({labels[k]})",
                        )
                ax.set_ylabel(
                    ", ".join(act_names) if system.action_size <= 2 else "action", fontsize=8
                )
                margin = 0.03 * (system.action_high - system.action_low)
                ax.set_ylim(system.action_low - margin, system.action_high + margin)
            else:
                ax.plot(t, episode.judgement[:, 0], color="tab:blue", lw=1.3, label=labels[0])
                ax.plot(
                    t, episode.judgement[:, 1], "--", color="tab:orange", lw=1.3, label=labels[1]
                )
                ax.axhline(0.5, color="k", lw=0.7, ls=":")
                ax.set_ylim(-0.02, 1.02)
                ax.set_ylabel("judgement o0", fontsize=8)
                ax.set_xlabel("step", fontsize=8)
            ax.set_xlim(-0.5, steps - 0.5)
            ax.tick_params(labelsize=7)
            if not row.startswith("obs-"):
                ax.grid(alpha=0.3)
            if c == 0 and not row.startswith("obs-") and not small:
                ax.legend(fontsize=6, loc="upper left", ncol=2)
        if not small:
            verdict = ", ".join(
                f"{lab}: {'genuine' if g else 'counterfeit'}"
                for lab, g in zip(labels, episode.judged_genuine, strict=True)
            )
            axes[0][c].set_title(f"trial {c + 1} | {verdict}", fontsize=9)
    if small:
        # A video frame has no room for per-axes legends: one line says which is which.
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], color="0.2", lw=1.2),
            Line2D([], [], color="0.2", lw=1.2, ls="--"),
        ]
        fig.legend(
            handles,
            [f"{labels[0]} (solid)", f"{labels[1]} (dashed)"],
            loc="upper right",
            ncol=2,
            fontsize=7,
            frameon=False,
        )
        fig.suptitle(f"{system.name}: {labels[0]} vs {labels[1]}", x=0.01, ha="left", fontsize=8)
    import warnings

    with warnings.catch_warnings():  # frames of tiny videos cannot fit every label
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout(rect=(0, 0, 1, 1 - (0.25 if small else 0.5) / fig.get_figheight()))
    return fig


def _names(names: tuple[str, ...], size: int, prefix: str) -> list[str]:
    return list(names) if len(names) == size else [f"{prefix} {i}" for i in range(size)]
