"""The ``turing`` command line.

Each subcommand lives in its own module exposing ``add_parser(subparsers)``; bad input is
reported as one line on stderr with exit status 2 and no traceback; Ctrl-C and SIGTERM
save a checkpoint and exit with 130 and 143.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import warnings

from turing.errors import Terminated, UserError

SUBCOMMANDS = ("list", "run", "compare", "plot", "replay", "bench", "record")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (problem and fix), exit status 2, and
    that takes flags only as written in full (``--generation 3`` is an error, not
    ``--generations``: an abbreviation would silently change meaning when a flag is added)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> Parser:
    from importlib import import_module

    parser = Parser(
        prog="turing",
        description="Turing Learning: infer how a system behaves by coevolving models of it "
        "against interrogators that interact with it and try to tell the models from the "
        "genuine system (Gross et al., NIPS 2017).",
    )
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    for name in SUBCOMMANDS:
        import_module(f"turing.cli.{name}_command").add_parser(subparsers)
    from turing.cli.common import add_system_module_option

    # Every command can name systems, so every command takes --system-module.
    for subparser in set(subparsers.choices.values()):
        add_system_module_option(subparser)
    return parser


def _version() -> str:
    # The code's own version: an editable install's metadata keeps the number it was
    # installed with.
    from turing.version import VERSION

    return f"turing-learning {VERSION}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``turing`` console script.

    Exit status: 0 done, 1 a comparison with failed cells, 2 bad input (one line on
    stderr), 130 interrupted by Ctrl-C, 143 by SIGTERM (both after saving a checkpoint
    where a run was going), 141 when the reader of the output went away (``| head``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = _catch_sigterm()
    formatter = _one_line_warnings(args.command)
    try:
        from turing.cli.common import load_system_modules

        load_system_modules(args)
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except UserError as exc:
        message = " ".join(str(exc).split())
        print(f"turing {args.command}: error: {message}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 2))
    except KeyboardInterrupt as exc:
        terminated = isinstance(exc, Terminated)
        print(
            f"turing {args.command}: interrupted{' (SIGTERM)' if terminated else ''}",
            file=sys.stderr,
        )
        return 143 if terminated else 130
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except OSError as exc:  # the file system refused: full, read-only, a name too long, ...
        from turing.runs.disk import describe, is_file_system_error

        if not is_file_system_error(exc):
            raise
        print(f"turing {args.command}: error: {describe(exc)}", file=sys.stderr)
        return 2
    finally:
        _restore_sigterm(previous)
        warnings.formatwarning = formatter


def _one_line_warnings(command: str):
    """Shows turing's own warnings (a system written for 0.1, a fallback taken) as one line
    each, ``turing COMMAND: warning: ...``, rather than Python's two lines with a source
    line; other packages' warnings keep their form. Returns the formatter it replaced."""
    previous = warnings.formatwarning

    from pathlib import Path

    from turing.contracts.legacy import LegacySystemWarning

    def format_warning(message, category, filename, lineno, line=None):
        text = " ".join(str(message).split())
        if issubclass(category, LegacySystemWarning):  # raised where the user's class is
            return f"turing {command}: warning: {Path(filename).name}:{lineno}: {text}\n"
        if _ours(filename):
            return f"turing {command}: warning: {text}\n"
        return previous(message, category, filename, lineno, line)

    warnings.formatwarning = format_warning
    return previous


def _ours(filename: str) -> bool:
    from pathlib import Path

    try:
        Path(filename).resolve().relative_to(Path(__file__).resolve().parents[1])
    except (ValueError, OSError):
        return False
    return True


def _terminate(signum, frame) -> None:
    raise Terminated()


def _catch_sigterm():
    """SIGTERM raises :class:`Terminated` (a KeyboardInterrupt) in the main thread, so a
    run checkpoints and says how to resume, as on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _terminate)


def _restore_sigterm(previous) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _silence_stdout() -> None:
    # The reader closed the pipe: what is still buffered cannot be written, and Python
    # would report that at exit; point stdout at /dev/null instead.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
