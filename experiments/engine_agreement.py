"""Do two comparisons agree statistically? (e.g. the same grid run by two trial engines)

Reads two ``turing compare`` folders and prints, per method, estimate and parameter (and
the system's summary metrics, such as case study 2's mean angle error), the median error in
each and the two-sided Mann-Whitney U p-value between them. Engines whose random streams
differ cannot give the same numbers; they should give the same distributions.

    python experiments/engine_agreement.py OLD_COMPARE NEW_COMPARE [--estimate top10_median]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy.stats import mannwhitneyu


def errors(folder: Path, estimate: str) -> dict[str, dict[str, list[float]]]:
    """method -> quantity -> one value per seed (absolute errors; summary metrics)."""
    found: dict[str, dict[str, list[float]]] = {}
    for result in sorted(folder.glob("runs/*/*/result.json")):
        data = json.loads(result.read_text())
        values = found.setdefault(data["mode"], {})
        for name, value in data["abs_error"][estimate].items():
            values.setdefault(name, []).append(float(value))
        for key in ("mean_angle_error_deg", "mean_radius_error_cm", "c2st"):
            if key in data:
                value = data[key][estimate] if isinstance(data[key], dict) else data[key]
                values.setdefault(key, []).append(float(value))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="a compare folder (e.g. the old engine's)")
    parser.add_argument("second", type=Path, help="another compare folder")
    parser.add_argument(
        "--estimate", default="top10_median", help="best, top10_median, last50_median"
    )
    args = parser.parse_args()
    first, second = errors(args.first, args.estimate), errors(args.second, args.estimate)
    print(f"| method | quantity | median ({args.first.name}) | median ({args.second.name}) | p |")
    print("|---|---|---|---|---|")
    for method in sorted(set(first) & set(second)):
        for name in first[method]:
            a, b = first[method][name], second[method].get(name, [])
            if not a or not b:
                continue
            p = mannwhitneyu(a, b, alternative="two-sided").pvalue
            print(
                f"| {method} | {name} | {np.median(a):.4g} (n={len(a)}) | {np.median(b):.4g} (n={len(b)}) | {p:.2f} |"
            )


if __name__ == "__main__":
    main()
