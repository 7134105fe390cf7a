"""Presets: named sets of run options (``--preset``).

``paper`` is the paper's algorithm and the default of every run. ``robust`` is the set of
options beyond the paper that fixes the diagnosed cause of case study 2's stuck seeds
(angles that the paper's bounded mutation cannot move across +-180 degrees), speeds up its
convergence and lowers the error it ends at (``docs/results/robust/report.md``: 10 seeds at
the paper's budget). A preset fills only the options a run leaves
unset: ``--preset robust --model-fitness verdict`` is ``robust`` with the paper's model
fitness. The run folder stores the options the preset chose, so a run never depends on
what a preset means in a later version.
"""

from __future__ import annotations

from typing import Any

from turing.errors import UserError

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "model_fitness": "verdict",
        "periodic_genes": "bounded",
        "model_strategy": "es",
        "init": "zero",
        "model_sigma_init": 0.1,
    },
    "robust": {
        "model_fitness": "weighted",
        "periodic_genes": "wrapped",
        "model_strategy": "es",
        "init": "uniform",
        "model_sigma_init": 0.05,
    },
}
"""What each preset sets. Every preset names the same options: those whose default is the
preset's (``None`` in :class:`~turing.contracts.config.RunConfig` until the run starts)."""

PRESET_OPTIONS = tuple(PRESETS["paper"])
CHOICES = {
    "model_fitness": ("verdict", "graded", "weighted"),
    "periodic_genes": ("bounded", "wrapped"),
    "model_strategy": ("es", "cma"),
    "init": ("zero", "uniform"),
}


def preset_values(name: str) -> dict[str, Any]:
    """The options preset ``name`` sets.

    Raises:
        UserError: for an unknown preset.
    """
    if not isinstance(name, str) or name not in PRESETS:
        raise UserError(f"--preset must be one of {', '.join(PRESETS)}, got {name!r}")
    return dict(PRESETS[name])


def describe(name: str) -> str:
    """``--model-fitness graded, --periodic-genes wrapped, ...``: what a preset sets."""
    return ", ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in PRESETS[name].items() if v is not None
    )


HELP = (
    "a named set of run options: paper (the paper's algorithm: "
    + describe("paper")
    + ") or robust (beyond the paper: "
    + describe("robust")
    + "; on case study 2 it lets angles cross +-180 deg, where the paper's stuck seeds sat, "
    "starts both populations spread over their ranges with smaller model steps, and scores "
    "models by the interrogators' outputs weighted by how far above chance each judged: "
    "every seed of case study 2 within 4 deg at the paper's budget, 15 deg in 0.35 of the "
    "paper's generations, docs/results/robust/report.md); options given explicitly "
    "override the preset's"
)


def check(config: Any) -> None:
    """Raises :class:`UserError` for an unknown preset or an unknown choice of an option a
    preset sets (``None``, not yet chosen, is fine)."""
    preset = config.preset
    if not isinstance(preset, str) or preset not in PRESETS:
        raise UserError(f"--preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    for name, choices in CHOICES.items():
        value = getattr(config, name)
        if value is not None and value not in choices:
            raise UserError(
                f"--{name.replace('_', '-')} must be {' or '.join(map(repr, choices))}, "
                f"got {value!r}"
            )
