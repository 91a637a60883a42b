"""The files of one ``mask_file`` output: the output itself, its state file, the redo journal.

* ``OUT`` - one JSON line per input row, in input order. Mode 0600 when it holds source
  text (``include_source``), else 0644 (narrowed by the umask). Its ``key`` field is an
  HMAC-SHA256 (first 128 bits) of the row's cache key under the secret of the state file,
  so the output alone lets nobody test a guess of the source (the old unsalted hash did).
* ``OUT.state`` - mode 0600: ``{"format", "version", "secret", "include_source"}``. It is
  written (atomically) before ``OUT`` is created, so an ``OUT`` beside a valid state file is
  provably this library's output. Any other file at ``OUT`` is refused: never cut, never
  appended to, never replaced. Keep the state file private and beside ``OUT`` to resume.
* ``OUT.redo`` - the results of rows that an earlier run left failed and this run masked
  again (same format and mode as ``OUT``). At the end of the run they are merged into
  ``OUT`` by an atomic rewrite; after a kill the next run reads them and merges them.

Nothing is created before the first result (or the end of an empty input), so a run that
fails at its start (a missing column, an unknown model) leaves no file behind.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._checkpoint import complete_lines, complete_records, tail_start
from .._exceptions import ConfigError, DatasetError
from .._files import atomic_write, clean_stale_temps, fsync_dir
from .._io import JsonlAppender, json_line

__all__ = ["OutputFile"]

_STATE_FORMAT = "pii_gemini.mask_state"
_STATE_VERSION = 1
_SECRET_BYTES = 32
_KEY_HEX = 32  # hex characters of the keyed hash kept in each line (128 bits)
_RECORD_FIELDS = frozenset({"row", "status", "masked_text"})  # every output line has them


class OutputFile:
    """Guards, creates, extends and finishes one masking output (see the module doc)."""

    def __init__(self, path: Path, *, include_source: bool) -> None:
        self.path = path
        self.state_path = path.with_name(path.name + ".state")
        self.redo_path = path.with_name(path.name + ".redo")
        self.include_source = include_source
        self.mode = 0o600 if include_source else 0o644
        self._secret: bytes | None = None
        self._resuming = False
        self._replace = False  # an earlier output of ours, to be started over
        self._started = False
        self._out: JsonlAppender | None = None
        self._redo: JsonlAppender | None = None

    # -- before anything is read or written ------------------------------------------------

    def prepare(self, resume: bool) -> bool:
        """Check what is at the output path; True when an earlier output is resumed.

        Raises ``DatasetError`` for a file that is not provably this library's output (or
        one written by an older version, whose lines carry an unsalted hash).
        """
        for path in (self.path, self.state_path):
            clean_stale_temps(path)  # copies a killed merge or state write left behind
        state = self._read_state()
        if not self.path.exists():
            self._secret = state[0] if state is not None else None
            return False
        if not self.path.is_file():
            raise ConfigError(f"output path {self.path.name} is not a file")
        if state is None:
            self._check_stateless(resume)
            self._replace = True
            return False
        if not resume:
            self._replace = True
            return False
        if state[1] != self.include_source:
            raise DatasetError(
                f"output file {self.path.name} was written with include_source={state[1]}; "
                "resume with the same setting, or start over with resume=False"
            )
        self._secret, self._resuming = state[0], True
        return True

    def _read_state(self) -> tuple[bytes, bool] | None:
        """(secret, include_source) from a valid state file, else None."""
        try:
            state = json.loads(self.state_path.read_bytes())
            secret = bytes.fromhex(state["secret"])
            include_source = state["include_source"]
        except (OSError, ValueError, TypeError, KeyError):
            return None
        if (
            not isinstance(state, dict)
            or state.get("format") != _STATE_FORMAT
            or state.get("version") != _STATE_VERSION
            or len(secret) != _SECRET_BYTES
            or not isinstance(include_source, bool)
        ):
            return None
        return secret, include_source

    def _check_stateless(self, resume: bool) -> None:
        """An output without a state file: replaceable if it is in our format and a fresh
        start was asked for; never resumed; anything else is not ours and is refused."""
        first = next(complete_lines(self.path), None)
        if first is None and self.path.stat().st_size == 0:
            return  # an empty file (a failed start of an older version): nothing to lose
        record = _json_object(first)
        name = self.path.name
        if record is not None and record.keys() >= _RECORD_FIELDS:
            if not resume:
                return
            if isinstance(record.get("key"), str) and len(record["key"]) == 64:
                raise DatasetError(
                    f"output file {name} was written by an older pii_gemini whose lines carry "
                    "an unsalted hash of each text (`key`), which lets anyone holding the file "
                    "test guesses of its content; it cannot be resumed: start over with "
                    "resume=False (--no-resume) or a new output path, and delete the old file "
                    "and its copies"
                )
            raise DatasetError(
                f"cannot resume output file {name}: its state file {self.state_path.name} "
                "(the secret its lines are keyed with) is missing; start over with "
                "resume=False (--no-resume) or a new output path"
            )
        raise DatasetError(
            f"{name} exists and is not an output of pii-gemini mask (no state file "
            f"{self.state_path.name}, and its lines are not masking records); refusing to cut, "
            "extend or replace it: choose another output path or move the file away"
        )

    # -- reading an earlier run ------------------------------------------------------------

    def row_key(self, cache_key: str) -> str:
        """The keyed hash written as a line's ``key``: HMAC(secret, cache key), 128 bits."""
        if self._secret is None:
            self._secret = secrets.token_bytes(_SECRET_BYTES)
        digest = hmac.new(self._secret, cache_key.encode("ascii"), hashlib.sha256)
        return digest.hexdigest()[:_KEY_HEX]

    def records(self) -> Iterator[dict[str, Any]]:
        """The complete lines of the output being resumed (a torn last line left out)."""
        return complete_records(self.path) if self._resuming else iter(())

    def redone(self) -> dict[int, dict[str, Any]]:
        """Row -> the latest redo result an interrupted earlier run left in the journal."""
        if not self._resuming or not self.redo_path.exists():
            return {}
        return {
            r["row"]: r for r in complete_records(self.redo_path) if isinstance(r.get("row"), int)
        }

    def line_count(self) -> tuple[int, int]:
        """Complete lines of the output being resumed, and how many of them say ``failed``
        (for the progress bar: a quick look, the rows are checked one by one later)."""
        if not self._resuming:
            return 0, 0
        lines = failed = 0
        for line in complete_lines(self.path):
            lines += bool(line.strip())
            failed += b'"status": "failed"' in line
        return lines, failed

    # -- writing -----------------------------------------------------------------------------

    def append(self, record: dict[str, Any]) -> None:
        """Append the line of the next row (creating the output on first use)."""
        self._start()
        assert self._out is not None
        self._out.write(record)

    def redo(self, record: dict[str, Any]) -> None:
        """Record the new result of a row that an earlier run left failed."""
        self._start()
        if self._redo is None:
            if self.redo_path.exists():
                os.truncate(self.redo_path, tail_start(self.redo_path))  # a torn line
                self._redo = JsonlAppender(self.redo_path)
            else:
                self._redo = JsonlAppender(self.redo_path, create=True, mode=self.mode)
        self._redo.write(record)

    def sync(self) -> None:
        """Make every line written so far durable."""
        for writer in (self._out, self._redo):
            if writer is not None:
                writer.sync()

    def finish(self, *, completed: bool, merge: bool) -> None:
        """Close; create an empty output for an empty input; merge the redo journal."""
        if completed:
            self._start()
        for writer in (self._out, self._redo):
            if writer is not None:
                writer.close()
        self._out = self._redo = None
        if merge and self._started and self.redo_path.exists():
            self._merge()

    def abandon(self) -> None:
        """Close the files after a failed ``finish`` (a full disk), without writing more."""
        for writer in (self._out, self._redo):
            if writer is not None:
                writer.abandon()
        self._out = self._redo = None

    def _start(self) -> None:
        """Open the output for writing: cut a torn line of ours, or create it (and first
        its state file), replacing an earlier output of ours when starting over."""
        if self._started:
            return
        self._started = True
        if self._resuming:
            os.truncate(self.path, tail_start(self.path))
            if self.include_source and os.stat(self.path).st_mode & 0o077:
                os.chmod(self.path, self.mode)
            self._out = JsonlAppender(self.path)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._replace:
            self._secret = None
            self.path.unlink(missing_ok=True)
        self.redo_path.unlink(missing_ok=True)
        self.row_key("")  # make sure a secret exists
        assert self._secret is not None
        state = {
            "format": _STATE_FORMAT,
            "version": _STATE_VERSION,
            "secret": self._secret.hex(),
            "include_source": self.include_source,
        }
        with atomic_write(self.state_path, mode=0o600) as fh:
            fh.write(json_line(state))
        self._out = JsonlAppender(self.path, create=True, mode=self.mode)
        fsync_dir(self.path.parent)

    def _merge(self) -> None:
        """Rewrite the output atomically with the redo journal's lines in place."""
        redo = {
            r["row"]: r for r in complete_records(self.redo_path) if isinstance(r.get("row"), int)
        }
        if redo:
            with atomic_write(self.path, mode=self.mode) as fh:
                for line in complete_lines(self.path):
                    record = _json_object(line)
                    row = record.get("row") if record is not None else None
                    fh.write(json_line(redo[row]) if isinstance(row, int) and row in redo else line)
        self.redo_path.unlink(missing_ok=True)
        fsync_dir(self.path.parent)


def _json_object(line: bytes | None) -> dict[str, Any] | None:
    if line is None:
        return None
    try:
        obj = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None
