"""What a masking run counts and shows: ``MaskSummary``, the run's counters, the progress bar."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._retry import RetryPolicy
from .._types import Generation, MaskResult, MaskStatus
from ._breaker import BreakerPolicy
from ._executor import RunStats

__all__ = ["MaskRun", "MaskSummary", "Progress", "failure_kind", "is_input_error"]

_PROGRESS_EVERY_S = 0.5  # seconds between progress-bar postfix refreshes
_SHOWN_KINDS = 3  # failure kinds a summary line lists; the rest are counted
#: Where a row is (``line 12``, ``byte 3``, ``row 7``, ``item 4`` of a JSON array):
#: dropped from a reason to group it.
_ROW_DETAIL = re.compile(r"\b(line|byte|row|column|position|item)s? \d+")
#: How the errors of unusable input rows begin (``_io``, ``Masker``'s shortcut): the row
#: itself is wrong, so masking it again cannot help; the input must be fixed.
_INPUT_ERRORS = ("input ", "row is not valid UTF-8", "row has no ")


def failure_kind(error: str) -> str:
    """``error`` without the row's place in the file, so that rows failing alike group:
    ``"input line 12 is not valid JSON"`` -> ``"input line N is not valid JSON"``."""
    return _ROW_DETAIL.sub(r"\1 N", error)


def is_input_error(error: str) -> bool:
    """True for the error of an input row that cannot be masked as it is (not JSON, not
    UTF-8, no text field, not text): a rerun fails it again; the data must be fixed."""
    return error.startswith(_INPUT_ERRORS)


@dataclass(frozen=True)
class MaskSummary:
    """Counts for one masking run (``mask_many``, ``mask_dataframe`` or ``mask_file``).

    ``done`` counts rows that got a result in this run, whatever their status, so
    ``done == ok + failed + blocked + empty + truncated``; ``total`` adds the rows skipped
    because a previous run had already written them (``skipped_resumed``, of which
    ``resumed_ok`` were masked), so a resumed run's text counts the output's rows.
    ``safety_net_caught`` counts the values the safety net masked that the model had missed.

    Failures: ``failure_reasons`` pairs each kind of error (PII-free: an error type and
    status, or what is wrong with an input row, with its line/row number replaced by N) with
    its count, most frequent first; ``failure_first_rows`` pairs each kind with the first
    row (the output's ``row``) that failed so, when known. ``input_failures`` counts the rows
    whose input itself is unusable (a rerun cannot fix those). ``redone`` counts
    rows an earlier run had left failed and this one masked again; ``kept_failed`` those
    left failed on purpose (``retry_failed=False``), so ``left_failed`` is what still needs
    a run. ``stopped`` says why a run ended early (circuit breaker, exhausted quota), else
    None. ``foreign_placeholders`` counts placeholder-like strings already in the texts
    (``[EMAIL_1]``, ``EMAIL_1``): left as they are, and never filled by ``unmask``.
    """

    total: int = 0
    done: int = 0
    ok: int = 0
    failed: int = 0
    blocked: int = 0
    empty: int = 0
    truncated: int = 0
    retried: int = 0
    cached: int = 0
    skipped_resumed: int = 0
    elapsed_s: float = 0.0
    prompt_tokens: int = 0
    output_tokens: int = 0
    rows_per_s: float = 0.0
    safety_net_caught: int = 0
    thought_tokens: int = 0  # a thinking model's thoughts: billed as output
    failure_reasons: tuple[tuple[str, int], ...] = ()
    redone: int = 0
    kept_failed: int = 0
    stopped: str | None = None
    foreign_placeholders: int = 0
    failure_first_rows: tuple[tuple[str, int], ...] = ()
    resumed_ok: int = 0

    @property
    def input_failures(self) -> int:
        """Rows left failed because the input row is unusable (fix the data, not a rerun)."""
        return sum(n for why, n in self.failure_reasons if is_input_error(why))

    @property
    def total_tokens(self) -> int:
        """Tokens billed in this run (prompt + output + thoughts), the cost estimate."""
        return self.prompt_tokens + self.output_tokens + self.thought_tokens

    @property
    def left_failed(self) -> int:
        """Rows whose latest result is a failure: failed now, or kept failed from before."""
        return self.failed + self.kept_failed

    def describe_failures(self) -> str:
        """``"3 rows failed: 2 TransientBackendError(503) (first: row 4), 1 ..."``, or ``""``.

        The most frequent kinds only (the rest are counted), so that a run with thousands of
        failed rows still prints one short line.
        """
        if not self.left_failed:
            return ""
        rows = "row" if self.left_failed == 1 else "rows"
        first = dict(self.failure_first_rows)
        parts = [
            f"{n} {why}" + (f" (first: row {first[why]})" if why in first else "")
            for why, n in self.failure_reasons[:_SHOWN_KINDS]
        ]
        more = len(self.failure_reasons) - _SHOWN_KINDS
        if more > 0:
            parts.append(f"{more} more kinds")
        return f"{self.left_failed} {rows} failed" + (f": {', '.join(parts)}" if parts else "")

    def __str__(self) -> str:
        # "3 of 5 rows masked": rows that came back failed, blocked, empty or cut hold no
        # masked text, so they are not counted as masked. A resumed run counts the rows of
        # the output (those written before too), then this run's own.
        ok, rows = self.ok + self.resumed_ok, self.done + self.skipped_resumed
        masked = f"{ok} rows masked" if ok == rows else f"{ok} of {rows} rows masked"
        if self.skipped_resumed:
            masked += f" (this run: {self.ok} of {self.done}; resumed: {self.skipped_resumed})"
        text = (
            f"{masked} in {self.elapsed_s:.1f}s ({self.rows_per_s:.1f} rows/s): "
            f"ok={self.ok} failed={self.failed} blocked={self.blocked} empty={self.empty} "
            f"truncated={self.truncated} retried={self.retried} cached={self.cached} "
            f"resumed={self.skipped_resumed} redone={self.redone} "
            f"safety_net_caught={self.safety_net_caught} "
            f"foreign_placeholders={self.foreign_placeholders} tokens={self.total_tokens} "
            f"(prompt {self.prompt_tokens} + output {self.output_tokens}"
            f" + thoughts {self.thought_tokens})"
        )
        if self.left_failed:
            text += f"; {self.describe_failures()}"
        if self.stopped:
            text += f"; stopped early: {self.stopped}"
        return text


class MaskRun(RunStats):
    """Counters for one run: workers add tokens, the consumer counts statuses.

    ``count_foreign(text)`` counts the placeholder-like strings a source text already held
    (given when the Masker issues vault tokens).
    """

    def __init__(
        self,
        policy: RetryPolicy,
        sleep: Callable[[float], None],
        breaker: BreakerPolicy | None = None,
        count_foreign: Callable[[str], int] | None = None,
    ) -> None:
        super().__init__(policy, sleep, breaker)
        self.caught = 0
        self.prompt_tokens = 0
        self.output_tokens = 0
        self.thought_tokens = 0
        self.statuses: dict[MaskStatus, int] = dict.fromkeys(MaskStatus, 0)
        self.reasons: Counter[str] = Counter()  # failure kind -> rows
        self.first_rows: dict[str, int] = {}  # failure kind -> first row that failed so
        self.redone = 0
        self.kept_failed = 0
        self.foreign = 0
        self.stopped: str | None = None
        self._count_foreign = count_foreign
        self._lock = threading.Lock()

    def add_tokens(self, generation: Generation) -> None:
        with self._lock:
            self.prompt_tokens += generation.prompt_tokens
            self.output_tokens += generation.output_tokens
            self.thought_tokens += generation.thought_tokens

    def count(self, result: MaskResult, *, redone: bool = False, row: int | None = None) -> None:
        """Count ``result`` (of input ``row``, when known)."""
        self.statuses[result.status] += 1
        self.caught += len(result.safety_net_spans)
        self.redone += redone
        if result.status is MaskStatus.FAILED:
            self._failure(result.error, row)
        if self._count_foreign is not None and result.text:
            self.foreign += self._count_foreign(result.text)

    def keep_failed(self, error: object, row: object = None) -> None:
        """A row an earlier run left failed, kept so (not retried) in this one."""
        self.kept_failed += 1
        self._failure(error, row)

    def _failure(self, error: object, row: object) -> None:
        kind = failure_kind(error) if isinstance(error, str) and error else "unknown error"
        self.reasons[kind] += 1
        if isinstance(row, int) and kind not in self.first_rows:
            self.first_rows[kind] = row

    @property
    def done(self) -> int:
        return sum(self.statuses.values())

    def summary(self, skipped: int = 0, skipped_ok: int = 0) -> MaskSummary:
        """The counts so far; ``skipped`` rows were resumed, ``skipped_ok`` of them masked."""
        elapsed = time.perf_counter() - self.started
        done = self.done
        return MaskSummary(
            total=done + skipped,
            done=done,
            ok=self.statuses[MaskStatus.OK],
            failed=self.statuses[MaskStatus.FAILED],
            blocked=self.statuses[MaskStatus.BLOCKED],
            empty=self.statuses[MaskStatus.EMPTY],
            truncated=self.statuses[MaskStatus.TRUNCATED],
            retried=self.retrier.retries,
            cached=self.cached,
            skipped_resumed=skipped,
            elapsed_s=elapsed,
            prompt_tokens=self.prompt_tokens,
            output_tokens=self.output_tokens,
            thought_tokens=self.thought_tokens,
            rows_per_s=done / elapsed if elapsed > 0 else 0.0,
            safety_net_caught=self.caught,
            failure_reasons=tuple(self.reasons.most_common()),
            failure_first_rows=tuple(self.first_rows.items()),
            redone=self.redone,
            kept_failed=self.kept_failed,
            stopped=self.stopped,
            foreign_placeholders=self.foreign,
            resumed_ok=skipped_ok,
        )


class Progress:
    """A tqdm bar (rows/s, ETA) with failures and retries in its postfix; or nothing."""

    def __init__(self, enabled: bool, total: int | None, run: MaskRun, desc: str) -> None:
        self._run = run
        self._bar: Any = None
        self._last = 0.0
        if enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="row", dynamic_ncols=True)

    def update(self, n: int = 1) -> None:
        if self._bar is None:
            return
        self._bar.update(n)
        now = time.monotonic()
        if now - self._last >= _PROGRESS_EVERY_S:
            self._last = now
            self._refresh()

    def _refresh(self) -> None:
        run = self._run
        self._bar.set_postfix(
            failed=run.statuses[MaskStatus.FAILED],
            blocked=run.statuses[MaskStatus.BLOCKED],
            retried=run.retrier.retries,
            cached=run.cached,
            safety_net=run.caught,
            refresh=False,
        )

    def close(self, summary: MaskSummary | None = None) -> None:
        """Close the bar and print ``summary`` under it (``mask_many``, which returns rows).

        ``mask_file`` returns its summary and passes none: whoever called it prints it
        once (the CLI on stdout), not twice.
        """
        if self._bar is not None:
            self._refresh()
            self._bar.close()
            if summary is not None:
                self._bar.write(str(summary), file=sys.stderr)
