"""The file job behind ``Masker.mask_file``: stream, checkpoint, resume, per-row statuses.

It knows nothing about models: rows are read in chunks (``_io.iter_rows``), handed to the
executor in order, and each result is appended as one JSON line (``_records``) to the
output (``_outfile``: the output, its private state file, the redo journal). **This is
where a row's checkpoint is written and where resume decides what to redo**: lines are
flushed as written and fsynced every ``chunk_size`` rows; with a vault, a batch of lines is
written only after the vault entries holding its tokens were appended to the vault log
(``VaultLog``); each line names the vault's id (``vault``). On resume the output is checked
against the input row by row (row number, id, keyed hash) before anything is cut or written,
its vault id against the vault's (another vault would reuse its tokens for other values),
and every token its lines name must be in the vault (one restored from an older backup
would issue them again); rows written ``ok`` (or blocked, empty, truncated) are skipped and
prefill the cache; rows written ``failed`` are masked again (``retry_failed``) and their new
lines go to the redo journal, merged at the end.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._checkpoint import complete_records
from .._exceptions import (
    CircuitOpenError,
    ConfigError,
    DatasetError,
    PiiGeminiError,
    StorageError,
    VaultMismatchError,
)
from .._files import RunLockedError, run_lock, storage_errors
from .._io import InputRow, count_rows, iter_rows
from .._types import MaskResult, MaskStatus
from .._vaultlog import VaultLog
from ..vault import Vault, check_vault_path, short_id
from ._breaker import error_name
from ._executor import Executor
from ._outfile import OutputFile
from ._records import record_of, result_of_record
from ._summary import MaskRun, MaskSummary, Progress

__all__ = ["BadRow", "FileJob", "FileJobOptions"]

logger = logging.getLogger(__name__)

_OUTPUT_SUFFIXES = (".jsonl", ".ndjson", ".json")
#: What a StorageError of the output or vault adds: nothing written is lost.
_KEPT = "the rows written so far are kept: fix this and run the same call again to resume"


@dataclass(frozen=True)
class BadRow:
    """An input row that has no usable text; becomes a FAILED result without a request."""

    error: str


@dataclass(frozen=True)
class FileJobOptions:
    """The options of one ``mask_file`` call (validated by ``FileJob``)."""

    text_column: str = "source_text"
    id_column: str | None = None
    chunk_size: int = 1000
    resume: bool = True
    retry_failed: bool = True
    progress: bool = True
    include_source: bool = False
    vault_path: Path | None = None
    vault_allow_same_dir: bool = False


class FileJob:
    """Masks one input file into one JSONL output, resumably."""

    def __init__(
        self,
        executor: Executor[MaskResult, MaskRun],
        new_run: Callable[[], MaskRun],
        key: Callable[[str], str],
        vault: Vault | None,
    ) -> None:
        self._executor = executor
        self._new_run = new_run
        self._key = key
        self._vault = vault

    def run(
        self,
        in_path: Path,
        out_path: Path,
        options: FileJobOptions,
        report: Callable[[MaskSummary], None],
    ) -> MaskSummary:
        """Mask ``in_path`` into ``out_path``; ``report`` gets the summary even on failure.

        One run at a time per output and per vault file: a second one (another process or
        thread) is refused before it reads or sends anything, as its lines would interleave
        with the first's, or its tokens be numbered afresh in the same vault.
        """
        if out_path.suffix.lower() not in _OUTPUT_SUFFIXES:
            raise ConfigError(
                f"output is written as JSON lines; use a .jsonl path, not {out_path.name}"
            )
        if in_path.exists() and out_path.exists() and in_path.resolve() == out_path.resolve():
            raise ConfigError("output_path must differ from input_path")
        # Nothing to lock yet without an input to read or a folder to write in (_run names
        # the problem; a new folder is created with the output's first line).
        ready = in_path.is_file() and out_path.parent.is_dir()
        vault = options.vault_path
        vault_ready = (
            ready
            and vault is not None
            and vault.parent.is_dir()
            and vault.resolve() != out_path.resolve()  # _vault_log refuses that
        )
        with (
            _held(
                out_path, ready, f"another run is writing {out_path.name}", "write to another path"
            ),
            _held(
                vault, vault_ready, f"another run is using the vault {vault}", "use another vault"
            ),
        ):
            return self._run(in_path, out_path, options, report)

    def _run(
        self,
        in_path: Path,
        out_path: Path,
        options: FileJobOptions,
        report: Callable[[MaskSummary], None],
    ) -> MaskSummary:
        o = options
        vault_log = self._vault_log(o, out_path)
        with storage_errors(in_path, "read"):
            rows = _read(iter_rows(in_path, o.text_column, o.id_column, chunk_size=o.chunk_size),
                         in_path)  # fmt: skip
            total = count_rows(in_path)
        out = OutputFile(out_path, include_source=o.include_source)
        with storage_errors(out_path, "read"):
            resuming = out.prepare(o.resume)
            written, failed_before = out.line_count()
        if total is not None and written > total:
            raise DatasetError(
                f"output file {out_path.name} has more rows than the input; it was written "
                "from another input (use resume=False or a new path)"
            )
        if vault_log is not None:
            with storage_errors(vault_log.path, "read the vault"):
                vault_log.open()  # always: a vault file is extended, never overwritten
        vault_id = None if self._vault is None else self._vault.ensure_id()
        if resuming and written:
            _check_vault(out_path, self._vault, vault_log)
            with storage_errors(out_path, "read"):
                _check_tokens(out, self._vault, vault_log)

        run = self._new_run()
        skipped = skipped_ok = 0
        pending: deque[tuple[InputRow, bool]] = deque()  # (row, redo: an earlier failure)

        def to_do() -> Iterator[object]:
            nonlocal skipped, skipped_ok
            records = out.records()
            redone = out.redone()
            exhausted = not resuming
            for row in rows:
                record = None if exhausted else next(records, None)
                if record is None:
                    exhausted = True
                    pending.append((row, False))
                    yield row.text if row.error is None else BadRow(row.error)
                    continue
                record = redone.get(row.index, record)
                self._check_resumed(record, row, o.id_column, out)
                if record.get("status") == MaskStatus.FAILED.value:
                    if o.retry_failed:
                        pending.append((row, True))
                        yield row.text if row.error is None else BadRow(row.error)
                        continue
                    run.keep_failed(record.get("error"), row.index)
                self._prefill(record, row)
                skipped += 1
                skipped_ok += record.get("status") == MaskStatus.OK.value
            if not exhausted and next(records, None) is not None:
                raise DatasetError(
                    f"output file {out_path.name} has more rows than the input; "
                    "it was written from another input (use resume=False or a new path)"
                )

        redo = failed_before if o.retry_failed else 0
        left = None if total is None else max(0, total - written + redo)
        bar = Progress(o.progress, left, run, f"masking {in_path.name}")
        held: list[tuple[bool, dict[str, Any]]] = []  # with a vault: lines waiting for it

        def write(redo: bool, record: dict[str, Any]) -> None:
            with storage_errors(out.redo_path if redo else out_path, "write", _KEPT):
                if redo:
                    out.redo(record)
                else:
                    out.append(record)

        def flush() -> None:
            if vault_log is not None:
                with storage_errors(vault_log.path, "write the vault", _KEPT):
                    vault_log.append()
                for redo, record in held:
                    write(redo, record)
                held.clear()
            with storage_errors(out_path, "write", _KEPT):
                out.sync()

        def close(failing: bool) -> None:
            """Save what is held and close; after a failure a second one (the disk is still
            full) must not hide the first, and the files are closed all the same."""
            try:
                flush()
            except StorageError:
                if not failing:
                    raise
            with storage_errors(out_path, "write", _KEPT):
                try:
                    out.finish(completed=completed, merge=merge)
                except OSError:
                    if not failing:
                        raise
                    out.abandon()

        completed = merge = False
        try:
            try:
                for result in self._executor.imap(to_do(), run):
                    row, redo = pending.popleft()
                    record = record_of(
                        row, result, self._row_key(row, out), o.id_column, o.include_source,
                        vault_id=vault_id,
                    )  # fmt: skip
                    if vault_log is None:
                        write(redo, record)
                    else:
                        held.append((redo, record))
                    run.count(result, redone=redo, row=row.index)
                    if run.done % o.chunk_size == 0:
                        flush()
                    bar.update()
                completed = merge = True
            except PiiGeminiError as exc:  # a clean stop (quota, breaker, bad input): merge
                run.stopped = str(exc) if isinstance(exc, CircuitOpenError) else error_name(exc)
                merge = True
                raise
            finally:
                close(failing=sys.exc_info()[0] is not None)
        finally:
            summary = run.summary(skipped, skipped_ok)
            report(summary)
            bar.close()  # the summary is returned (and logged), not printed under the bar
        logger.info("mask_file: %s", summary)
        return summary

    def _vault_log(self, o: FileJobOptions, out_path: Path) -> VaultLog | None:
        """The vault log to save tokens to; checked before any request."""
        if o.vault_path is None:
            return None
        if self._vault is None:
            raise ConfigError(
                "vault_path needs a vault: use a reversible operator ('numbered', "
                "'surrogate') or pass vault= to the Masker"
            )
        if o.vault_path.resolve() == out_path.resolve():
            raise ConfigError("vault_path must differ from output_path")
        if (
            not o.vault_allow_same_dir
            and o.vault_path.resolve().parent == out_path.resolve().parent
        ):
            raise ConfigError(
                f"refusing to save the vault {o.vault_path.name} in the directory of the "
                "masked output; choose another directory (or pass vault_allow_same_dir=True, "
                "--vault-same-dir on the command line)"
            )
        return VaultLog(check_vault_path(o.vault_path, None, True), self._vault)

    def _row_key(self, row: InputRow, out: OutputFile) -> str | None:
        if not isinstance(row.text, str) or row.error is not None:
            return None
        return out.row_key(self._key(row.text))

    def _check_resumed(
        self, record: dict[str, Any], row: InputRow, id_column: str | None, out: OutputFile
    ) -> None:
        """Refuse to resume from an output written for another input or other settings."""
        same = record.get("row") == row.index and record.get("key") == self._row_key(row, out)
        if id_column is not None:
            same = same and record.get("id") == row.id
        if not same:
            raise DatasetError(
                f"output file {out.path.name} row {row.index} does not match the input "
                "(another input file, model, prompt or setting?); use resume=False or a new "
                "output path",
                row=row.index,
            )

    def _prefill(self, record: dict[str, Any], row: InputRow) -> None:
        """Put a resumed row's result in the cache so identical later texts are free."""
        text = row.text
        if not self._executor.cache_enabled or not isinstance(text, str) or row.error:
            return
        result = result_of_record(record, text)
        if result is not None:
            self._executor.prefill(self._key(text), result)


def _check_vault(out_path: Path, vault: Vault | None, vault_log: VaultLog | None) -> None:
    """Refuse to resume an output masked with another vault (or a lost one): the new
    vault would number its tokens afresh, giving the written rows' tokens other values.
    An output of an older version names no vault: it is resumed as before."""
    first = next(complete_records(out_path), None)
    written_id = None if first is None else first.get("vault")
    if not isinstance(written_id, str) or vault is None:
        return
    if written_id == vault.id:
        return
    if vault_log is None:
        given = f"the vault given ({short_id(vault.id)})"
    elif vault_log.path.exists():
        given = f"vault file {vault_log.path.name} ({short_id(vault.id)})"
    else:
        given = f"a new vault file {vault_log.path.name} (it does not exist yet)"
    raise VaultMismatchError(
        f"output file {out_path.name} was masked with another vault "
        f"({short_id(written_id)}) than {given}: resuming would give its written tokens "
        "other values; resume with the vault it was masked with, or start over with "
        "resume=False (or a new output path)"
    )


def _check_tokens(out: OutputFile, vault: Vault | None, vault_log: VaultLog | None) -> None:
    """Refuse to resume when tokens the written lines name are missing from the vault (it
    was restored from an older backup, or lost its last entries): the vault would issue
    them again for other values, and unmask would fill the written rows with those."""
    if vault is None:
        return
    missing: set[str] = set()
    for path in (out.path, out.redo_path):
        for record in complete_records(path) if path.exists() else ():
            tokens = record.get("tokens")
            if isinstance(tokens, list):
                missing.update(t for t in tokens if isinstance(t, str) and t not in vault)
    if not missing:
        return
    given = "the vault given" if vault_log is None else f"vault file {vault_log.path.name}"
    tokens = "token" if len(missing) == 1 else "tokens"
    raise VaultMismatchError(
        f"output file {out.path.name} names {len(missing)} {tokens} that {given} does not "
        "hold (was it restored from an older backup?): resuming would give them other "
        "values; resume with the vault the output was masked with, or start over with "
        "resume=False (or a new output path)"
    )


@contextlib.contextmanager
def _held(path: Path | None, lock: bool, busy: str, instead: str) -> Iterator[None]:
    """Hold ``path``'s run lock (``_files.run_lock``) while the run lasts, when ``lock``;
    a lock another live run holds is a ConfigError saying ``busy``."""
    if path is None or not lock:
        yield
        return
    try:
        with storage_errors(path, "lock"), run_lock(path):
            yield
    except RunLockedError:
        raise ConfigError(
            f"{busy} (its lock .{path.name}.lock is held); wait for it to end, or {instead}"
        ) from None


def _read(rows: Iterator[InputRow], path: Path) -> Iterator[InputRow]:
    """``rows``, with an OS error while reading them raised as a ``StorageError``."""
    with storage_errors(path, "read"):
        yield from rows
