"""Runs killed with SIGKILL at random moments (during generations, checkpoint writes and the
finish) must resume to exactly the result of an uninterrupted run.

``python tests/kill_resume.py --kills 20`` prints one line per kill and a summary;
``tests/test_fuzz.py`` runs a few of them (marked slow). The moments are drawn from a
generator seeded by ``--seed``, uniformly over the uninterrupted run's duration.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GENERATIONS = 150
ARGS = (
    "agent-inference",
    "--generations", "{generations}",
    "--seed", "5",
    "--models", "30",
    "--interrogators", "30",
    "--backend", "eager",  # slow generations: most kills land in them, not in start-up
    "--checkpoint-every", "1",  # a checkpoint write every generation: kills land in them too
    "--c2st-trials", "100",
    "--threads", "1",
    "--quiet",
)  # fmt: skip
CLI = (sys.executable, "-c", "import sys; from turing.cli import main; sys.exit(main())")


def rows(folder: Path) -> list[dict[str, str]]:
    """metrics.csv without its wall-time columns."""
    with (folder / "metrics.csv").open() as handle:
        return [{k: v for k, v in r.items() if "seconds" not in k} for r in csv.DictReader(handle)]


def outcome(folder: Path) -> tuple:
    """What must not depend on interruptions: the metrics and the result's numbers."""
    result = json.loads((folder / "result.json").read_text())
    return rows(folder), result["estimates"], result.get("c2st")


GENUINE = ("--genuine", "turing/AgentInference-v0", "--genuine-trials", "30")
"""``--genuine``: the genuine trials from a (deterministic) Gymnasium env in worker processes."""


def arguments(generations: int = GENERATIONS, extra: tuple[str, ...] = ()) -> list[str]:
    """``turing run``'s arguments for a run of ``generations``."""
    return [a.replace("{generations}", str(generations)) for a in ARGS] + list(extra)


def reference(
    root: Path, generations: int = GENERATIONS, extra: tuple[str, ...] = ()
) -> tuple[tuple, float]:
    """The uninterrupted run and how long it took, start-up included."""
    start = time.perf_counter()
    command = [*CLI, "run", *arguments(generations, extra), "--out", str(root / "reference")]
    subprocess.run(command, check=True, capture_output=True)
    return outcome(root / "reference"), time.perf_counter() - start


def kill_and_resume(
    folder: Path, delay: float, generations: int = GENERATIONS, extra: tuple[str, ...] = ()
) -> dict:
    """Starts the run, SIGKILLs it after ``delay`` seconds, resumes it (with the same
    command, as a user would) and says whether it matches."""
    command = [*CLI, "run", *arguments(generations, extra), "--out", str(folder)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    finished_before = process.poll() is not None
    process.kill()
    process.wait()
    written = len(rows(folder)) if (folder / "metrics.csv").is_file() else 0
    if finished_before:
        stage = "finished"
    elif not (folder / "config.json").is_file():
        stage = "starting"
    elif written >= generations:
        stage = "finishing"
    else:
        stage = f"generation {written}"
    done = subprocess.run(command, capture_output=True, text=True)
    return {
        "delay": delay,
        "stage": stage,
        "code": done.returncode,
        "stderr": done.stderr.strip()[-300:],
        "folder": folder,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="runs to kill (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    parser.add_argument(
        "--genuine",
        action="store_true",
        help=f"genuine trials from a Gymnasium env ({' '.join(GENUINE)}): its recorded trials "
        "must serve the resumed run",
    )
    args = parser.parse_args(argv)
    extra = GENUINE if args.genuine else ()
    generator = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory(prefix="turing-kill-") as tmp:
        root = Path(tmp)
        expected, seconds = reference(root, extra=extra)
        print(
            f"uninterrupted run: {seconds:.1f} s; killing {args.kills} runs at uniform moments in it"
        )
        identical = 0
        for k in range(args.kills):
            delay = float(generator.uniform(0.3, seconds))
            report = kill_and_resume(root / f"kill-{k}", delay, extra=extra)
            same = report["code"] == 0 and outcome(report["folder"]) == expected
            identical += same
            print(
                f"kill {k + 1:2d} at {report['delay']:5.2f} s ({report['stage']}): "
                f"{'identical' if same else 'DIFFERENT: exit ' + str(report['code']) + ' ' + report['stderr']}",
                flush=True,
            )
        print(f"\n{identical} of {args.kills} killed runs resumed to the uninterrupted result")
    return 0 if identical == args.kills else 1


if __name__ == "__main__":
    sys.exit(main())
