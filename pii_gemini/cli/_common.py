"""What every ``pii-gemini`` command shares: exit codes, messages, argument types, files.

Also where a command gets its backend (``open_backend``): the fake one is loaded from and
saved to its state file (``backends/_fake_state.py``), the others come from ``make_backend``.
Messages never carry input text, PII values or API keys (``print_error`` redacts keys).
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import pandas as pd

from .._credentials import backend_name, make_backend
from .._exceptions import ConfigError, DatasetError, PiiGeminiError
from .._files import atomic_write
from .._redact import redact
from ..backends._fake_state import FakeState, state_path
from ..backends.base import Backend

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

N = TypeVar("N", int, float)

PROG = "pii-gemini"
EXIT_OK = 0
EXIT_RUNTIME = 1  # a failed tuning job, a service error, an unexpected bug
EXIT_USAGE = 2  # a bad option or a missing credential
EXIT_DATA = 3  # a missing or malformed input file, a missing column
EXIT_INCOMPLETE = 4  # `mask` left rows failed or not done (outage, quota): run it again later
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_PIPE_CLOSED = 141  # stdout's reader went away (`| head`): 128 + SIGPIPE, as shell tools
MAX_CONCURRENCY = 1024  # requests in flight: each is a thread

_FAKE_POLL_INTERVAL = 0.1  # seconds between polls of a fake job (the real default is 10)
_LOCAL_POLL_INTERVAL = 1.0  # a local job reads a few files per poll
_TABLE_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet", ".pq")


class UsageError(Exception):
    """A bad option, value or combination of options (exit code 2): printed as every error is,
    ``pii-gemini: error: UsageError: <message>``, the message naming the option."""


class StdoutClosed(Exception):
    """Whoever read stdout has gone (``pii-gemini evaluate ... | head -2``): the command
    ends quietly with exit code 141, as shell tools killed by SIGPIPE do."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are UsageErrors, printed by ``main`` in the one error
    form of ``pii-gemini`` instead of argparse's usage block and ``prog: error:`` line.

    ``argument --concurrency: must be ...`` becomes ``--concurrency: must be ... (see
    pii-gemini mask --help)``: short, naming the option, saying where the options are listed.
    Sub-command parsers are of this class too (``add_subparsers`` uses the parent's class).
    """

    def error(self, message: str) -> NoReturn:
        message = message.removeprefix("argument ")
        raise UsageError(f"{message} (see {self.prog} --help)")


def echo(text: str = "") -> None:
    """Print a result line on stdout (flushed: progress bars share the terminal).

    A closed stdout raises ``StdoutClosed`` after pointing stdout at the null device, so
    that Python's flush at exit does not fail on it again (as the Python docs advise)."""
    try:
        print(text, file=sys.stdout, flush=True)
    except BrokenPipeError:
        quiet_stdout()
        raise StdoutClosed from None


def quiet_stdout() -> None:
    """Send what is still written to stdout to the null device (its reader has gone)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def hint(text: str) -> None:
    """Print advice on stderr, after the program's name."""
    print(f"{PROG}: {text}", file=sys.stderr, flush=True)


def print_error(message: str) -> None:
    """Print the one-line error of a failed command on stderr, API keys redacted."""
    print(f"{PROG}: error: {redact(message)}", file=sys.stderr, flush=True)


def exit_code(exc: PiiGeminiError) -> int:
    """The exit code of a library error: usage (config), data, else runtime."""
    if isinstance(exc, ConfigError):
        return EXIT_USAGE
    if isinstance(exc, DatasetError):
        return EXIT_DATA
    return EXIT_RUNTIME


def positive_float(raw: str) -> float:
    """Argument type: a finite number > 0 (``inf`` and ``nan`` are refused)."""
    value = _number(raw, float, "a number > 0")
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {raw}")
    return value


def non_negative_float(raw: str) -> float:
    """Argument type: a finite number >= 0."""
    value = _number(raw, float, "a number >= 0")
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {raw}")
    return value


def concurrency(raw: str) -> int:
    """Argument type of ``--concurrency``: an integer from 1 to ``MAX_CONCURRENCY`` (each
    request in flight is a thread: 100000 of them is no run, only a thread error)."""
    value = positive_int(raw)
    if value > MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 1 to {MAX_CONCURRENCY}, got {raw}"
        )
    return value


def non_empty(raw: str) -> str:
    """Argument type: a text that is not empty (or only spaces)."""
    if not raw.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return raw


def folder(raw: str) -> str:
    """Argument type of an output folder: refused when it, or a folder above it, is a file
    (``mkdir`` would fail with FileExistsError after the work)."""
    path = Path(raw).expanduser()
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            where = "" if part == path else f" ({part})"
            raise argparse.ArgumentTypeError(f"{raw}{where} is a file, not a folder")
    return raw


def positive_int(raw: str) -> int:
    """Argument type: an integer >= 1."""
    value = _number(raw, int, "an integer >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {raw}")
    return value


def _number(raw: str, kind: Callable[[str], N], allowed: str) -> N:
    """``raw`` read as ``kind``; an argument error saying what is ``allowed`` when it is not."""
    try:
        return kind(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {allowed}, got {raw!r}") from None


def existing_file(path: str) -> Path:
    """``path`` as a Path, or DatasetError (exit code 3) when it is not a file."""
    p = Path(path).expanduser()
    if not p.is_file():
        if p.is_dir():
            raise DatasetError(f"input path {path} is a folder, not a file")
        raise DatasetError(f"input file not found: {path}")
    return p


def read_table(path: str) -> pd.DataFrame:
    """A JSONL/JSON/CSV/Parquet file as a DataFrame (DatasetError if unreadable)."""
    p = existing_file(path)
    suffix = p.suffix.lower()
    if suffix not in _TABLE_SUFFIXES:
        raise DatasetError(
            f"unsupported file type {suffix or '(none)'!r} for {p.name}; "
            f"use {', '.join(_TABLE_SUFFIXES)}"
        )
    try:
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(p, lines=True, dtype=False)
        if suffix == ".json":
            try:
                return pd.read_json(p, dtype=False)
            except ValueError:
                return pd.read_json(p, lines=True, dtype=False)
        if suffix == ".csv":
            return pd.read_csv(p, dtype=str, keep_default_na=False)
        return pd.read_parquet(p)
    except Exception as exc:  # parsers raise many types and may quote the data
        raise DatasetError(f"could not read {p.name}: {type(exc).__name__}") from exc


def write_jsonl(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` as JSON lines, creating the folder; 0600 and atomic, as ``prepare``
    writes its files: the rows hold source text."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = df.to_json(orient="records", lines=True, force_ascii=False) or ""
    with atomic_write(path) as fh:
        fh.write(text.encode("utf-8"))


@contextmanager
def open_backend(args: argparse.Namespace) -> Iterator[Backend]:
    """The backend chosen by ``--backend``; the fake one is loaded from and saved to its state."""
    name = backend_name(args.backend)
    if name != "fake":
        with make_backend(name) as backend:
            yield backend
        return
    store = FakeState(state_path(args.state), args.fake_speed)  # each job keeps its speed
    fake = store.load()
    try:
        yield fake
    finally:
        store.save(fake)
        fake.close()


def command(args: argparse.Namespace, backend: Backend, *words: str) -> str:
    """A ``pii-gemini`` command line to print as a hint, with ``--backend`` (and the fake's
    ``--state``) of this run: pasted into another shell, whose default backend may differ,
    it reaches the same job or model."""
    argv = [PROG, *words, "--backend", backend.name]
    if backend.name == "fake" and getattr(args, "state", None):
        argv += ["--state", str(args.state)]
    return shlex.join(argv)


def keep_earlier_card(card: Path, model: str) -> None:
    """When ``card`` records a tuned model other than ``model`` (an earlier tune from the same
    folder), move it to ``<card>.<model id>.json`` and say so, before `tune` or `prepare`
    writes the card again: re-tuning and re-preparing are common and must not lose the
    earlier model's record without a word."""
    from .._contract import read_model_card

    if not card.is_file():
        return
    earlier = read_model_card(card)[0]
    if not earlier or earlier == model:
        return
    slug = earlier.rstrip("/").rsplit("/", 1)[-1] or "model"
    kept = card.with_name(f"{card.stem}.{slug}.json")
    n = 1
    while kept.exists():
        n += 1
        kept = card.with_name(f"{card.stem}.{slug}.{n}.json")
    card.replace(kept)
    hint(f"{card.name} recorded the tuned model {earlier}: kept as {kept}")


def poll_interval(args: argparse.Namespace, backend: Backend) -> float:
    """``--poll-interval``, else 0.1 s for the fake backend, 1 s for local, 10 s for the cloud."""
    if getattr(args, "poll_interval", None) is not None:
        return float(args.poll_interval)
    if backend.name == "fake":
        return _FAKE_POLL_INTERVAL
    return _LOCAL_POLL_INTERVAL if backend.name == "local" else 10.0
