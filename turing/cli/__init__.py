"""The ``turing`` command line.

Each subcommand lives in its own module exposing ``add_parser(subparsers)``; bad input is
reported as one line on stderr with exit status 2 and no traceback.
"""

from __future__ import annotations

import argparse
import sys

from turing.errors import UserError

SUBCOMMANDS = ("list", "run", "compare", "plot", "replay", "bench")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (problem and fix), exit status 2."""

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
    from importlib import metadata

    try:
        return f"turing-learning {metadata.version('turing-learning')}"
    except metadata.PackageNotFoundError:
        return "turing-learning (not installed)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``turing`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from turing.cli.common import load_system_modules

        load_system_modules(args)
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"turing {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"turing {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
