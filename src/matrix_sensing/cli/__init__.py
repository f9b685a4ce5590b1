"""``python -m matrix_sensing`` (also the ``matrix-sensing`` command): list the claims, rerun
one with your own parameters, or run a sweep.

Exit status: 0 when the claim holds, 1 when it fails (or the run diverged, or a results file
is corrupt), 2 for bad usage (unknown claim or parameter, a value of the wrong type or out of
range), 130 when interrupted (Ctrl-C): one line on stderr, no traceback.

A run writes its results into the output folder only once the notebook has finished, and
``results.json`` last: a folder with a ``results.json`` holds one complete run (every file it
lists is from that run); an interrupted run leaves either the previous complete run or no
``results.json``, never a mix that looks complete.

This package is the command line only: each command is a module with ``add_parser(sub)`` and
``command(args)``; a sweep's work is done by the library :mod:`matrix_sensing.sweep`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import __version__, provenance
from . import _list, _run, _sweep
from ._base import (
    EXIT_FAIL,
    EXIT_INTERRUPTED,
    EXIT_PASS,
    EXIT_USAGE,
    Interrupted,
    Parser,
    UsageError,
)

__all__ = ["main"]

#: ``name -> module`` of each command, in the order of ``--help``.
COMMANDS = {"list": _list, "run": _run, "sweep": _sweep}

EPILOG = """\
examples:
  %(prog)s list
  %(prog)s run M1 --seeds 0 1 2 --out results/m1
  %(prog)s run M1 -p alpha_small 1e-5 -p k 20
  %(prog)s sweep phase-transition --scale paper --workers 2

exit status:
  0    the claim holds (or the command succeeded)
  1    the claim fails, the run diverged, or a results file is corrupt
  2    bad usage: unknown claim or parameter, a value of the wrong type or out of range
  130  interrupted (Ctrl-C)
"""


def _prog() -> str:
    """The command as the reader typed it: the installed script or ``python -m``."""
    script = Path(sys.argv[0]).name == "matrix-sensing"
    return "matrix-sensing" if script else "python -m matrix_sensing"


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog=_prog(),
        description="Rerun the claims of the matrix-sensing companion.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its one-line error (or the help)
        return EXIT_USAGE if exc.code else EXIT_PASS
    try:
        return COMMANDS[args.command].command(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except provenance.CorruptResultError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    except Interrupted as exc:
        print(f"interrupted: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
