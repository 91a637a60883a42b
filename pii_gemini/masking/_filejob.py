"""The file job behind ``Masker.mask_file``: stream, checkpoint, resume, vault persistence.

It knows nothing about models: rows are read in chunks (``_io.iter_rows``), handed to the
executor in order, and each result is appended as one JSON line (``_records``). **This is
where a row's checkpoint is written**: lines are flushed as written and fsynced every
``chunk_size`` rows; with a vault, a batch of lines is written only after the vault that holds
its tokens was saved. On resume the output is checked against the input row by row (torn
last line cut, ``_checkpoint``), written rows are skipped and their results prefill the cache.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._checkpoint import iter_records, repair_tail
from .._exceptions import ConfigError, DatasetError
from .._io import InputRow, JsonlAppender, count_lines, count_rows, iter_rows
from .._types import MaskResult
from ..vault import Vault
from ._executor import Executor
from ._records import record_of, result_of_record
from ._summary import MaskRun, MaskSummary, Progress

__all__ = ["BadRow", "FileJob", "FileJobOptions"]

logger = logging.getLogger(__name__)

_OUTPUT_SUFFIXES = (".jsonl", ".ndjson", ".json")


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
        """Mask ``in_path`` into ``out_path``; ``report`` gets the summary even on failure."""
        o = options
        if out_path.suffix.lower() not in _OUTPUT_SUFFIXES:
            raise ConfigError(
                f"output is written as JSON lines; use a .jsonl path, not {out_path.name}"
            )
        if in_path.exists() and out_path.exists() and in_path.resolve() == out_path.resolve():
            raise ConfigError("output_path must differ from input_path")
        if o.vault_path is not None:
            self._check_vault_path(o.vault_path, out_path, o.vault_allow_same_dir)
        rows = iter_rows(in_path, o.text_column, o.id_column, chunk_size=o.chunk_size)
        total = count_rows(in_path)
        resuming = o.resume and out_path.exists()
        expected_skip = 0
        if resuming:
            dropped = repair_tail(out_path)
            if dropped:
                logger.info("cut a torn last line (%d bytes) from the output", dropped)
            expected_skip = count_lines(out_path)
        if o.vault_path is not None and resuming:
            self._load_vault(o.vault_path, expected_skip)

        run = self._new_run()
        skipped = 0
        pending: deque[InputRow] = deque()

        def to_do() -> Iterator[object]:
            nonlocal skipped
            records = iter_records(out_path) if resuming else iter(())
            exhausted = not resuming
            for row in rows:
                record = None if exhausted else next(records, None)
                if record is None:
                    exhausted = True
                    pending.append(row)
                    yield row.text if row.error is None else BadRow(row.error)
                    continue
                self._check_resumed(record, row, o.id_column, out_path.name)
                self._prefill(record, row)
                skipped += 1
            if not exhausted and next(records, None) is not None:
                raise DatasetError(
                    f"output file {out_path.name} has more rows than the input; "
                    "it was written from another input (use resume=False or a new path)"
                )

        left = None if total is None else max(0, total - expected_skip)
        bar = Progress(o.progress, left, run, f"masking {in_path.name}")
        out_path.parent.mkdir(parents=True, exist_ok=True)
        held: list[dict[str, Any]] = []  # with a vault: lines waiting for the vault's save

        def flush(writer: JsonlAppender) -> None:
            if o.vault_path is not None and self._vault is not None:
                self._vault.save(
                    o.vault_path, masked_output=out_path, allow_same_dir=o.vault_allow_same_dir
                )
                for record in held:
                    writer.write(record)
                held.clear()
            writer.sync()

        try:
            with JsonlAppender(out_path, truncate=not resuming) as writer:
                try:
                    for result in self._executor.imap(to_do(), run):
                        row = pending.popleft()
                        record = record_of(
                            row, result, self._row_key(row), o.id_column, o.include_source
                        )
                        if o.vault_path is None:
                            writer.write(record)
                        else:
                            held.append(record)
                        run.count(result)
                        if run.done % o.chunk_size == 0:
                            flush(writer)
                        bar.update()
                finally:
                    flush(writer)
        finally:
            summary = run.summary(skipped)
            report(summary)
            bar.close(summary)
        logger.info("mask_file: %s", summary)
        return summary

    def _row_key(self, row: InputRow) -> str | None:
        return self._key(row.text) if isinstance(row.text, str) and row.error is None else None

    def _check_resumed(
        self, record: dict[str, Any], row: InputRow, id_column: str | None, name: str
    ) -> None:
        """Refuse to resume from an output written for another input or other settings."""
        same = record.get("row") == row.index and record.get("key") == self._row_key(row)
        if id_column is not None:
            same = same and record.get("id") == row.id
        if not same:
            raise DatasetError(
                f"output file {name} row {row.index} does not match the input (another "
                "input file, model, prompt or setting?); use resume=False or a new output path",
                row=row.index,
            )

    def _prefill(self, record: dict[str, Any], row: InputRow) -> None:
        """Put a resumed row's result in the cache so identical later texts are free."""
        text, key = row.text, record.get("key")
        if not self._executor.cache_enabled or not isinstance(text, str):
            return
        if not isinstance(key, str):
            return
        result = result_of_record(record, text)
        if result is not None:
            self._executor.prefill(key, result)

    def _check_vault_path(self, vault_file: Path, out_path: Path, allow_same_dir: bool) -> None:
        """Fail before any request when the vault could not be saved there."""
        if self._vault is None:
            raise ConfigError(
                "vault_path needs a vault: use a reversible operator ('numbered', "
                "'surrogate') or pass vault= to the Masker"
            )
        if vault_file.resolve() == out_path.resolve():
            raise ConfigError("vault_path must differ from output_path")
        if not allow_same_dir and vault_file.resolve().parent == out_path.resolve().parent:
            raise ConfigError(
                f"refusing to save the vault {vault_file.name} in the directory of the "
                "masked output; choose another directory (or pass vault_allow_same_dir=True, "
                "--vault-same-dir on the command line)"
            )
        if not vault_file.parent.is_dir():
            raise ConfigError(f"the directory for vault file {vault_file.name} does not exist")

    def _load_vault(self, vault_file: Path, resumed_lines: int) -> None:
        """Merge a previous run's saved vault into the Masker's vault before resuming."""
        assert self._vault is not None
        if not vault_file.exists():
            if resumed_lines:
                logger.warning(
                    "resuming %d written rows without their vault file %s: their tokens "
                    "cannot be unmasked with the new vault",
                    resumed_lines,
                    vault_file.name,
                )
            return
        for entry in Vault.load(vault_file):
            self._vault.add(entry)
