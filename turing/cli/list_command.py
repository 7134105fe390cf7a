"""``turing list``: the registered systems and methods."""

from __future__ import annotations

import json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list the registered systems, their parameters and the available modes",
        description="List every registered system (built-in and plugins) with its Gymnasium "
        "id and its parameters (bounds, units, genuine values), and the available modes.",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of tables"
    )
    parser.set_defaults(handler=run)


def run(args) -> int:
    import sys

    from turing.integrations.registry import make_system, registrations
    from turing.methods.method import method_names

    systems = []
    for name, registration in sorted(registrations().items()):
        try:
            system = make_system(name)
        except Exception as exc:  # one broken plugin must not hide the others
            print(f"turing list: skipping {name} ({registration.source}): {exc}", file=sys.stderr)
            continue
        systems.append(
            {
                "name": name,
                "env_id": registration.env_id,
                "description": system.description,
                "source": registration.source,
                "default_generations": system.default_generations,
                "steps": system.default_steps,
                "parameters": [
                    {
                        "name": p.name,
                        "low": p.low,
                        "high": p.high,
                        "unit": p.unit,
                        "genuine": p.genuine,
                        "description": p.description,
                    }
                    for p in system.parameters
                ],
            }
        )
    if args.json:
        print(json.dumps({"systems": systems, "modes": method_names()}, indent=2))
        return 0
    for entry in systems:
        print(f"{entry['name']}  ({entry['env_id']})")
        if entry["description"]:
            print(f"  {entry['description']}")
        print(
            f"  {entry['steps']} steps per trial, {entry['default_generations']} generations by default"
        )
        width = max(len(p["name"]) for p in entry["parameters"])
        print(
            f"  {'parameter'.ljust(width)}  {'bounds':>16}  {'unit':>4}  {'genuine':>8}  description"
        )
        for p in entry["parameters"]:
            bounds = f"[{p['low']:.4g}, {p['high']:.4g}]"
            print(
                f"  {p['name'].ljust(width)}  {bounds:>16}  {p['unit']:>4}  {p['genuine']:>8.4g}  {p['description']}"
            )
        print()
    print("modes: " + ", ".join(method_names()))
    return 0
