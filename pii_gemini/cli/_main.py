"""The thin parser of ``pii-gemini``: global options, one sub-command group per module, main().

``main`` parses, runs the chosen command and turns what it raises into one line on stderr
and an exit code (see ``_common``); ``--verbose`` adds the traceback.
"""

from __future__ import annotations

import argparse
import logging
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from .._build import build_description
from .._credentials import BACKEND_NAMES
from .._exceptions import PiiGeminiError
from .._version import __version__
from ..backends._fake_state import DEFAULT_SPEED, SPEED_ENV, STATE_ENV
from . import _data, _evaluation, _masking, _tuning
from ._common import (
    EXIT_INTERRUPTED,
    EXIT_PIPE_CLOSED,
    EXIT_RUNTIME,
    EXIT_USAGE,
    PROG,
    Parser,
    StdoutClosed,
    UsageError,
    exit_code,
    non_negative_float,
    print_error,
    quiet_stdout,
)

if TYPE_CHECKING:
    from ._common import Subparsers

__all__ = ["build_parser", "main"]

# each command group adds its sub-commands, in the order `pii-gemini --help` lists them
_GROUPS = (_data.add_parsers, _tuning.add_parsers, _masking.add_parsers, _evaluation.add_parsers)

_GLOBAL_DEFAULTS: dict[str, Any] = {
    "backend": None,
    "state": None,
    "fake_speed": None,
    "verbose": False,
    "quiet": False,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pii-gemini`` (exposed for docs and tests)."""
    common = argparse.ArgumentParser(add_help=False)
    g = common.add_argument_group("global options")
    g.add_argument(
        "--backend",
        choices=BACKEND_NAMES,
        default=argparse.SUPPRESS,
        help="where to tune and generate (default: $PII_GEMINI_BACKEND, else fake)",
    )
    g.add_argument(
        "--state",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help=f"fake backend state file (default: ${STATE_ENV}, else "
        "~/.cache/pii-gemini/fake-state.pkl)",
    )
    g.add_argument(
        "--fake-speed",
        metavar="STEPS_PER_S",
        type=non_negative_float,
        default=argparse.SUPPRESS,
        help=f"fake training speed of new jobs, 0 = instant (default: ${SPEED_ENV}, else "
        f"{DEFAULT_SPEED:g}); a job keeps its speed, unless a later command gives this",
    )
    g.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
        help="log progress details and show tracebacks",
    )  # fmt: skip
    g.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
        help="no progress bars",
    )  # fmt: skip

    parser = Parser(
        prog=PROG,
        description="Fine-tune Gemini to mask personal data (PII), mask files, evaluate.",
        parents=[common],
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__} ({build_description()})"
    )
    # sub-command parsers are Parsers too (add_subparsers makes them of the parser's class)
    sub = cast(
        "Subparsers", parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    )
    for add_parsers in _GROUPS:
        add_parsers(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pii-gemini`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(list(argv) if argv is not None else None)
        if extra:  # said here, where the sub-command whose --help lists the options is known
            raise UsageError(
                f"unrecognized arguments: {' '.join(extra)} (see {PROG} {args.command} --help)"
            )
    except UsageError as exc:  # a bad option or value (Parser.error)
        print_error(f"{UsageError.__name__}: {exc}")
        return EXIT_USAGE
    except SystemExit as exc:  # argparse: --help/--version (0)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except BrokenPipeError:  # --help into `| head`
        quiet_stdout()
        return EXIT_PIPE_CLOSED
    for key, value in _GLOBAL_DEFAULTS.items():
        if not hasattr(args, key):
            setattr(args, key, value)
    if args.verbose:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        print_error("interrupted")
        return EXIT_INTERRUPTED
    except StdoutClosed:  # `| head`: the reader has what it wanted
        return EXIT_PIPE_CLOSED
    except UsageError as exc:
        print_error(f"{UsageError.__name__}: {exc}")
        return EXIT_USAGE
    except PiiGeminiError as exc:
        if args.verbose:
            traceback.print_exc()
        print_error(f"{type(exc).__name__}: {exc}")
        return exit_code(exc)
    except OSError as exc:  # a file we could not write, a full disk: no data in the message
        if args.verbose:
            traceback.print_exc()
        print_error(f"{type(exc).__name__}: {exc.strerror or 'I/O error'} ({exc.filename})")
        return EXIT_RUNTIME
    except Exception as exc:  # a bug: its message may quote data, so print only its type
        if args.verbose:
            traceback.print_exc()
        print_error(f"unexpected {type(exc).__name__}; rerun with --verbose for the traceback")
        return EXIT_RUNTIME
