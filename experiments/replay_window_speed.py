"""How fast does the replay window play, and what does it cost while it waits?

For each run folder and kind of window, plays one trial pair in the window as fast as it
can draw (``fps`` 1000) and prints the steps per second it showed (frame drawn, window
updated) and the process's CPU use while the window then waits (held on the last frame,
2 s). Needs a display: on a server, run it under ``xvfb-run -s "-screen 0 1280x800x24"``.

    python experiments/replay_window_speed.py runs/epuck runs/swarm --size 1280x720
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from turing.replay import Replay, SceneOptions
from turing.replay.window import open_window, tk_available


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(run: Path, kind: str, size: tuple[int, int]) -> tuple[float, float]:
    """Steps per second shown, and the CPU share while held, for one trial pair."""
    replay = Replay(run)
    scene = replay.scene(SceneOptions(gui=True, size=size, labels=replay.labels))
    window = open_window(size, kind)
    shown: list[float] = []
    show, poll = window.show, window.poll
    held: dict[str, float] = {}

    def timed_show(frame):
        show(frame)
        shown.append(time.perf_counter())

    def scripted_poll():
        keys = poll()
        if len(shown) >= replay.steps:  # the trial is over
            held["polls"] = held.get("polls", 0) + 1
        # From the third poll on: the second redraws the frame marked "trial over".
        if held.get("polls", 0) == 3:
            held["start"], held["cpu"] = time.perf_counter(), cpu_seconds()
        if "start" in held and time.perf_counter() - held["start"] > 2.0:
            held["share"] = (cpu_seconds() - held["cpu"]) / (time.perf_counter() - held["start"])
            return keys | {"q"}
        return keys

    window.show, window.poll = timed_show, scripted_poll
    folder = tempfile.TemporaryDirectory()  # the replay's figure: not kept
    try:
        replay.play(gui=True, window=window, scene=scene, size=size, fps=1000.0,
                    figure=Path(folder.name) / "replay.png")  # fmt: skip
    finally:
        folder.cleanup()
        scene.close()
        window.close()
    steps = replay.steps
    rate = (steps - 1) / (shown[steps - 1] - shown[0])
    return rate, held.get("share", float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders of `turing run`")
    parser.add_argument("--size", default="1280x720", help="window size WxH")
    parser.add_argument("--windows", default="tk,pybullet", help="kinds of window")
    args = parser.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    kinds = [k for k in args.windows.split(",") if k != "tk" or tk_available()]
    print(f"| run | window | steps/s shown at {args.size} | CPU while waiting |")
    print("|---|---|---|---|")
    for run in args.runs:
        for kind in kinds:
            rate, share = measure(run, kind, size)
            print(f"| {run.name} | {kind} | {rate:.1f} | {100 * share:.0f} % of a core |")


if __name__ == "__main__":
    main()
