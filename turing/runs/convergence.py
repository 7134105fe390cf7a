"""Does a finished run look converged? Three signals from its ``metrics.csv`` alone.

A run cannot know its own error (the genuine parameters are what it is looking for), but
it can see three symptoms of not having arrived:

* **drift**: its estimate still moves. The top-10 median of each parameter over the last
  20 generations against the same median ``window`` generations earlier, as a fraction of
  the parameter's range (on the circle for angles); the largest over the parameters.
* **Turing-test gap**: its interrogators still tell its best model from the genuine
  system. Over the last ``window`` generations, the mean fraction of interrogators that
  judge the genuine system genuine minus the fraction that judge the best model genuine
  (``accuracy_genuine - models_fooled_best``). A model the interrogators cannot tell from
  the genuine system has a gap near 0; coevolution methods only.

* **spread**: its models are not narrowed down. The spread of the model parents (median
  over the parameters, as a fraction of each range; ``model_spread_median`` in
  ``metrics.csv``), averaged over the last 20 generations. Where genuine trials are scarce
  the interrogators may tell models apart too weakly to select among them: the gap and the
  drift then look quiet while the population still covers much of the range, and the
  last generation's top 10 is a noisy sample of it (``docs/results/robust/report.md``,
  the pendulum with 100 genuine trials per generation).

A run is flagged when any exceeds its threshold. An estimate that drifts while the gap is
near 0 is a parameter the trials barely constrain (the interrogators are fooled wherever it
sits): the flag then says that more generations may not settle it. On random e-puck layouts
the radius of a sensor deep inside the body (1.2-1.7 cm from the centre) drifts 12-21 % of
its range per 100 generations, its error no smaller at generations 800-1000 than at 300-500
(``docs/results/generality/report.md``). The thresholds were read off case
study 2's stuck and converged seeds (``docs/results/robust/report.md``, which also shows
how well they separate runs the flags were not chosen on); a flag is a reason to run
longer or with other seeds, not a proof either way.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from turing.contracts.system import System

WINDOW = 100
"""Generations the signals look back over (a fifth of the run if that is fewer)."""
RECENT = 20
"""Generations whose median is the current estimate in the drift."""
MAX_DRIFT = 0.10
"""Largest drift (fraction of a parameter's range over ``WINDOW`` generations) of a run that
looks converged. Case study 2's converged runs drift 4-6 % of a range (the top-10 median of
a noisy population wobbles), its stuck ones 30 % and more."""
MAX_SPREAD = 0.10
"""Largest parents' spread (median over parameters, fraction of a range) of a run that looks
converged. Case study 2's converged runs end at 0.02; the pendulum's runs with 100 genuine
trials per generation at up to 0.22, 0.03-0.07 with the paper's 10^4."""
MAX_GAP = 0.05
"""Largest Turing-test gap of a run that looks converged. Case study 2's converged runs end
near 0 (-0.02 to +0.01), its stuck ones at 0.28 and 0.49."""


def _median(values: np.ndarray, width: float, periodic: bool) -> float:
    if not periodic:
        return float(np.median(values))
    angle = values * (2 * math.pi / width)
    centre = math.atan2(np.sin(angle).mean(), np.cos(angle).mean()) * width / (2 * math.pi)
    offsets = np.mod(values - centre + width / 2, width) - width / 2
    return centre + float(np.median(offsets))


def assess(system: System, history: dict[str, np.ndarray]) -> dict[str, Any] | None:
    """The convergence signals of a run's history, or ``None`` for a run too short to
    judge (fewer than ``RECENT + 10`` generations) or without top-10 columns.

    Returns:
        ``window``, ``drift`` (largest, a fraction of the range), ``drift_parameter``,
        ``gap`` (``None`` without interrogators), ``spread`` (``None`` without the
        population columns), ``converged`` (bool), ``unconstrained`` (the estimate drifts
        while the best model fools the interrogators: a parameter the trials barely
        constrain) and ``reasons`` (one sentence per exceeded threshold).
    """
    names = system.parameter_names
    if not names or any(f"top10_{n}" not in history for n in names):
        return None
    generations = len(history[f"top10_{names[0]}"])
    window = min(WINDOW, generations // 5)
    if generations < RECENT + 10 or window < 10:
        return None
    drifts = []
    for parameter in system.parameters:
        values = np.asarray(history[f"top10_{parameter.name}"], dtype=np.float64)
        now = _median(values[-RECENT:], parameter.width, parameter.periodic)
        before = _median(
            values[-RECENT - window : generations - window], parameter.width, parameter.periodic
        )
        drifts.append(float(parameter.error(now, before)) / parameter.width)
    worst = int(np.argmax(drifts))
    gap = None
    if "accuracy_genuine" in history and "models_fooled_best" in history:
        genuine = np.asarray(history["accuracy_genuine"], dtype=np.float64)[-window:]
        fooled = np.asarray(history["models_fooled_best"], dtype=np.float64)[-window:]
        gap = float(np.mean(genuine - fooled))
    spread = None
    if "model_spread_median" in history:
        recent = np.asarray(history["model_spread_median"], dtype=np.float64)[-RECENT:]
        recent = recent[np.isfinite(recent)]
        spread = float(recent.mean()) if recent.size else None
    reasons = []
    # Drift while the best model fools the interrogators: the trials barely depend on the
    # drifting parameter (random e-puck layouts' inner sensors, docs/results/generality/).
    unconstrained = drifts[worst] > MAX_DRIFT and gap is not None and gap <= MAX_GAP
    if drifts[worst] > MAX_DRIFT:
        reasons.append(
            f"its estimate still moves: the top-10 median of {names[worst]} moved "
            f"{100 * drifts[worst]:.1f}% of its range in the last {window} generations "
            f"(converged runs: under {100 * MAX_DRIFT:g}%)"
            + (
                f" while the interrogators no longer tell the best model from the genuine "
                f"system, so what they observe barely depends on {names[worst]}: more "
                f"generations may not settle it"
                if unconstrained
                else ""
            )
        )
    if gap is not None and gap > MAX_GAP:
        reasons.append(
            f"its interrogators still tell the best model from the genuine system: they judged "
            f"the genuine system genuine {100 * gap:.0f} points more often than the best model "
            f"over the last {window} generations (converged runs: under {100 * MAX_GAP:g})"
        )
    if spread is not None and spread > MAX_SPREAD:
        reasons.append(
            f"its models are not narrowed down: the best half of the population spreads over "
            f"{100 * spread:.0f}% of a parameter's range (median over the parameters, last "
            f"{RECENT} generations; converged runs: under {100 * MAX_SPREAD:g}%); with few "
            f"genuine trials per generation read the last-50 median, or give more"
        )
    return {
        "window": window,
        "drift": drifts[worst],
        "drift_parameter": names[worst],
        "gap": gap,
        "spread": spread,
        "converged": not reasons,
        "unconstrained": unconstrained,
        "reasons": reasons,
    }


def verdict_text(assessment: dict[str, Any] | None) -> str:
    """One line (two where it is not converged) for a run's summary."""
    if not assessment:
        return "convergence: too few generations to judge"
    gap = assessment.get("gap")
    numbers = f"drift {100 * assessment['drift']:.1f}% of a range ({assessment['drift_parameter']})"
    if gap is not None:
        numbers += f", Turing-test gap {gap:+.2f}"
    if assessment.get("spread") is not None:
        numbers += f", spread {100 * assessment['spread']:.0f}% of a range"
    if assessment["converged"]:
        return f"convergence: looks converged ({numbers} over the last {assessment['window']} generations)"
    advice = "run more generations, or compare seeds (turing compare)"
    if assessment.get("unconstrained") and len(assessment["reasons"]) == 1:
        advice = "compare seeds (turing compare) to see how uncertain it is"
    return (
        f"convergence: NOT CONVERGED ({numbers}): "
        + "; ".join(assessment["reasons"])
        + f"; {advice}"
    )
