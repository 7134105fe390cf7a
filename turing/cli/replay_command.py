"""``turing replay``: watch an interrogator of a run question the genuine system and a model."""

from __future__ import annotations

import argparse

from turing.cli.common import non_negative_int, positive_float, positive_int
from turing.errors import UserError


def rank(text: str) -> int:
    """``best`` (rank 0) or a rank ``K >= 0``."""
    if text.strip().lower() == "best":
        return 0
    try:
        return non_negative_int(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc}; give best or a rank 0, 1, ...") from None


def frame_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` in pixels."""
    width, sep, height = text.lower().partition("x")
    try:
        size = (int(width), int(height))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT (e.g. 640x360)") from None
    if not sep or min(size) < 16 or max(size) > 4096:
        raise argparse.ArgumentTypeError(f"{text!r}: give WIDTHxHEIGHT with each side in 16..4096")
    return size


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay interrogation trials of a run (PyBullet window or video)",
        description="Replay trials of a finished evolutionary run: the chosen interrogator "
        "of the last generation questions the genuine system and the chosen model side by "
        "side, step by step, with its running judgement and the inputs it sets drawn under "
        "each. --gui shows them in a window (keys: space pause/resume, s one step, t next "
        "trial, m next model, i next interrogator, q quit; closing the window or Ctrl-C ends "
        "it); --video writes the same frames headless to .mp4 or .gif. Always writes a "
        "figure of observations, actions and the running judgement over time (next to the "
        "video, else in DIR/plots/) and the replayed trials as .npz (in a window, after "
        "every trial played to the end). Replays are seeded: the same command shows the "
        "same trials.",
    )
    parser.add_argument("run_dir", metavar="DIR", help="a folder written by `turing run`")
    parser.add_argument(
        "--gui",
        action="store_true",
        help="show the replay in a window (needs a display), paced at --fps; it shows the "
        "same frames as --video, with its keys",
    )
    parser.add_argument(
        "--video",
        metavar="FILE",
        help="write the replay to FILE.mp4 (needs pip install 'turing-learning[video]') or FILE.gif",
    )
    parser.add_argument(
        "--interrogator",
        type=rank,
        default=0,
        metavar="best|K",
        help="rank of the interrogator in the last generation (default: best = 0)",
    )
    parser.add_argument(
        "--model",
        type=rank,
        default=0,
        metavar="best|K",
        help="rank of the model in the last generation (default: best = 0)",
    )
    parser.add_argument(
        "--trials",
        type=positive_int,
        default=1,
        metavar="N",
        help="trial pairs (genuine and model) to play one after the other (default: 1)",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        metavar="S",
        help="seed of the replay's random stream (default: the run's seed)",
    )
    parser.add_argument(
        "--size",
        type=frame_size,
        metavar="WxH",
        help="window and frame size in pixels (default: 1280x720 with --gui, else 960x540)",
    )
    parser.add_argument(
        "--fps",
        type=positive_float,
        default=10.0,
        help="steps per second of the video and the window (default: 10, real time for the "
        "e-puck; a window shows fewer where drawing a step takes longer)",
    )
    parser.add_argument(
        "--figure",
        metavar="FILE",
        help="where to write the figure (default: next to the video, else DIR/plots/replay-*.png)",
    )
    parser.add_argument(
        "--window",
        choices=("auto", "tk", "pybullet"),
        default="auto",
        help="kind of window for --gui: tk (idle while waiting; needs a Python with Tk), "
        "pybullet (PyBullet's GUI; keeps one core busy while open), or auto (default: tk "
        "where it imports, else pybullet)",
    )
    parser.add_argument(
        "--renderer",
        choices=("auto", "tiny", "egl"),
        default="auto",
        help="offscreen renderer of the 3-D scenes' frames: tiny (TinyRenderer, CPU), egl (OpenGL via EGL), or auto "
        "(default: EGL where its plugin loads and a GPU is present, else TinyRenderer)",
    )
    parser.set_defaults(handler=run)


def run(args) -> int:
    from turing.replay import Replay

    if args.fps > 1000:
        raise UserError(
            f"--fps {args.fps:g} is more than 1000; give a rate a screen or video can show"
        )
    play = {
        "trials": args.trials,
        "seed": args.seed,
        "video": args.video,
        "figure": args.figure,
        "size": args.size,
        "fps": args.fps,
        "renderer": args.renderer,
    }
    if args.gui:
        from turing.replay.session import watch

        pairs = watch(args.run_dir, args.interrogator, args.model, window=args.window, **play)
    else:
        replay = Replay(args.run_dir, interrogator=args.interrogator, model=args.model)
        pairs = [(replay, replay.play(**play))]
    for replay, result in pairs:
        print(
            f"{replay.system.name} ({replay.mode}): interrogator #{replay.interrogator} vs "
            f"genuine and model #{replay.model}"
        )
        for line in result.summary():
            print(line)
        if not result.episodes:
            print("no trial pair was played to the end: nothing saved")
            continue
        if result.video:
            print(f"video:   {result.video}")
        print(f"figure:  {result.figure}")
        print(f"trials:  {result.data}")
    return 0
