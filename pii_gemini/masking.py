"""Masker: mask one text, many texts, a DataFrame or a whole file with a (tuned) model.

Every backend call goes through the one retry layer (``Retrier``), at most ``concurrency``
requests are in flight, and optional requests/minute and tokens/minute limits are honoured
(``_ratelimit``). Results keep input order. Each row ends with a ``MaskStatus``: a blocked,
empty or truncated answer, or an error left after retries, is recorded on that row and the
run goes on. Identical texts are paid once (content-hash cache), texts longer than
``max_input_chars`` are masked in overlapping pieces (``_chunking``), and ``mask_file``
streams its input and appends results durably so a killed run resumes where it stopped.

Example::

    masker = Masker(FakeBackend(), "tunedModels/pii-masker", concurrency=16,
                    requests_per_minute=1000)
    result = masker.mask("Call Ana on 555-0100")
    summary = masker.mask_file("in.parquet", "out.jsonl", id_column="id")
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ._align import align
from ._checkpoint import iter_records, repair_tail
from ._chunking import default_overlap, merge_spans, split_text
from ._entities import ground_entities, parse_entities, render_masked
from ._exceptions import (
    BackendUnavailableError,
    ConfigError,
    DatasetError,
    NotFoundError,
    PermissionDeniedError,
)
from ._hygiene import clean_output
from ._io import InputRow, JsonlAppender, count_rows, iter_rows
from ._ratelimit import RateLimiter
from ._retry import Retrier, RetryPolicy
from ._types import Generation, GenerationConfig, MaskResult, MaskStatus, Span
from .backends.base import Backend

if TYPE_CHECKING:
    import pandas as pd

    from .dataset import PromptBuilder

__all__ = ["MaskSummary", "Masker"]

logger = logging.getLogger(__name__)

_DEFAULT_CACHE_SIZE = 10_000  # results kept for identical texts; bounds memory on huge runs
_WINDOW_PER_WORKER = 16  # rows submitted ahead per worker, so one slow row stalls no one
_MAX_BATCH = 8  # most rows handed to a worker at once (only for fast backends)
_BATCH_BELOW_S = 0.002  # batch rows only while requests take less than this on average
_CHARS_PER_TOKEN = 4  # rough token estimate for the tokens/minute limit before the real count
_OUTPUT_TOKEN_SLACK = 16  # tokens allowed above the input size for an answer estimate
_MIN_INPUT_CHARS = 50  # smallest sensible max_input_chars
_PROGRESS_EVERY_S = 0.5  # seconds between progress-bar postfix refreshes
_OUTPUT_SUFFIXES = (".jsonl", ".ndjson", ".json")
# Errors that no row can get past: stop the run instead of failing every row.
_FATAL = (ConfigError, PermissionDeniedError, NotFoundError, BackendUnavailableError)
_TARGETS = ("masked_text", "entities")


class _Prompter(Protocol):
    """What the Masker needs from a prompt builder."""

    @property
    def target(self) -> str: ...

    def format(self, text: str) -> str: ...


@dataclass(frozen=True)
class MaskSummary:
    """Counts for one masking run (``mask_many``, ``mask_dataframe`` or ``mask_file``).

    ``done`` counts rows that got a result in this run, whatever their status, so
    ``done == ok + failed + blocked + empty + truncated``; ``total`` adds the rows skipped
    because a previous run had already written them (``skipped_resumed``).
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

    @property
    def total_tokens(self) -> int:
        """Tokens billed in this run (prompt + output), the cost estimate."""
        return self.prompt_tokens + self.output_tokens

    def __str__(self) -> str:
        return (
            f"{self.done} rows masked in {self.elapsed_s:.1f}s ({self.rows_per_s:.1f} rows/s): "
            f"ok={self.ok} failed={self.failed} blocked={self.blocked} empty={self.empty} "
            f"truncated={self.truncated} retried={self.retried} cached={self.cached} "
            f"resumed={self.skipped_resumed} tokens={self.total_tokens} "
            f"(prompt {self.prompt_tokens} + output {self.output_tokens})"
        )


@dataclass(frozen=True)
class _Outcome:
    """The result of masking one piece of a text (relative offsets)."""

    status: MaskStatus
    masked_text: str | None = None
    spans: tuple[Span, ...] = ()
    finish_reason: str | None = None
    error: str | None = None
    raw_output: str | None = None


@dataclass(frozen=True)
class _Ticket:
    """A row's future, and whether this run created it (else it is shared via the cache)."""

    future: Future[MaskResult]
    owned: bool = False


_Batch = list[tuple[str, "Future[MaskResult]"]]


@dataclass(frozen=True)
class _BadRow:
    """An input row that has no usable text; becomes a FAILED result without a request."""

    error: str


class _Run:
    """Mutable counters for one run; workers add tokens, the consumer counts statuses."""

    def __init__(self, policy: RetryPolicy, sleep: Callable[[float], None]) -> None:
        self.retrier = Retrier(policy, sleep=sleep)
        self.started = time.perf_counter()
        self.cached = 0
        self.prompt_tokens = 0
        self.output_tokens = 0
        self.statuses: dict[MaskStatus, int] = dict.fromkeys(MaskStatus, 0)
        self._lock = threading.Lock()

    def add_tokens(self, generation: Generation) -> None:
        with self._lock:
            self.prompt_tokens += generation.prompt_tokens
            self.output_tokens += generation.output_tokens

    def count(self, result: MaskResult) -> None:
        self.statuses[result.status] += 1

    @property
    def done(self) -> int:
        return sum(self.statuses.values())

    def summary(self, skipped: int = 0) -> MaskSummary:
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
            rows_per_s=done / elapsed if elapsed > 0 else 0.0,
        )


class _Progress:
    """A tqdm bar (rows/s, ETA) with failures and retries in its postfix; or nothing."""

    def __init__(self, enabled: bool, total: int | None, run: _Run, desc: str) -> None:
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
            refresh=False,
        )

    def close(self, summary: MaskSummary) -> None:
        """Close the bar and print the run's summary under it."""
        if self._bar is not None:
            self._refresh()
            self._bar.close()
            self._bar.write(str(summary), file=sys.stderr)


def _completed(result: MaskResult) -> Future[MaskResult]:
    fut: Future[MaskResult] = Future()
    fut.set_result(result)
    return fut


def _error_name(exc: BaseException) -> str:
    """A short, PII-free error string: the exception class and its status code."""
    code = getattr(exc, "code", None)
    return f"{type(exc).__name__}({code})" if code is not None else type(exc).__name__


def _default_prompter() -> _Prompter:
    from .dataset import PromptBuilder  # late: dataset pulls in heavier imports

    builder: _Prompter = PromptBuilder()
    return builder


def _clean(raw: str) -> str:
    """Strip model chatter around the answer."""
    return clean_output(raw).text


def _render(source: str, spans: tuple[Span, ...]) -> str:
    """``source`` with every span replaced by ``[LABEL]``."""
    return render_masked(source, spans)


def _spans_from_masked(source: str, masked: str) -> tuple[Span, ...]:
    return align(source, masked).spans


def _spans_from_entities(source: str, output: str) -> tuple[Span, ...]:
    return tuple(ground_entities(source, parse_entities(output)))


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


class Masker:
    """Masks PII in texts with ``model`` on ``backend``.

    **Parameters:**

    * ``prompt_builder`` - builds the prompt for one text; its ``target`` says whether the
      model answers with the masked text (spans recovered by alignment) or a JSON entity
      list (spans grounded in the source, masked text rendered from them).
    * ``generation_config`` - defaults to ``GenerationConfig()`` (temperature 0).
    * ``retry`` - the retry policy for transient errors (429/5xx), applied per request.
    * ``sleep`` / ``clock`` - used for retry backoff and rate-limit waits; tests pass fakes.
    * ``concurrency`` - most requests in flight at once (shared by every thread using
      this Masker).
    * ``requests_per_minute`` / ``tokens_per_minute`` - client-side quota limits; retries
      count against them. Requests are spaced evenly, so no rolling minute exceeds the
      limit; tokens are estimated up front (4 characters per token) and settled with the
      counts the service reports.
    * ``max_input_chars`` - longer texts are masked in overlapping pieces.
    * ``cache`` / ``cache_size`` - reuse the result for an identical prompt (bounded LRU).
    """

    def __init__(
        self,
        backend: Backend,
        model: str,
        *,
        prompt_builder: PromptBuilder | None = None,
        generation_config: GenerationConfig | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        concurrency: int = 8,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_input_chars: int = 20_000,
        cache: bool = True,
        cache_size: int = _DEFAULT_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not isinstance(backend, Backend):
            raise ConfigError(f"backend must be a Backend, got {type(backend).__name__}")
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("model must be a non-empty model name")
        if generation_config is not None and not isinstance(generation_config, GenerationConfig):
            raise ConfigError("generation_config must be a GenerationConfig")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise ConfigError("retry must be a RetryPolicy")
        self.backend = backend
        self.model = model
        self.prompt_builder: _Prompter = prompt_builder or _default_prompter()
        if not callable(getattr(self.prompt_builder, "format", None)):
            raise ConfigError("prompt_builder must have a format(text) method")
        self.target = str(getattr(self.prompt_builder, "target", "masked_text"))
        if self.target not in _TARGETS:
            raise ConfigError(
                f"prompt_builder.target must be one of {_TARGETS}, got {self.target!r}"
            )
        self.generation_config = generation_config or GenerationConfig()
        self.retry = retry or RetryPolicy()
        self.concurrency = _check_int("concurrency", concurrency, 1)
        self.max_input_chars = _check_int("max_input_chars", max_input_chars, _MIN_INPUT_CHARS)
        self._overlap = default_overlap(self.max_input_chars)
        self._cache_size = _check_int("cache_size", cache_size, 0)
        self._cache_enabled = bool(cache) and self._cache_size > 0
        self._sleep = sleep
        self._limiter = RateLimiter(
            requests_per_minute, tokens_per_minute, clock=clock, sleep=sleep
        )
        self._inflight = threading.BoundedSemaphore(self.concurrency)
        # key -> result, or the future of a request still in flight (so duplicates wait)
        self._cache: OrderedDict[str, Future[MaskResult] | MaskResult] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._key_prefix = "\x00".join(
            [
                model,
                repr(dataclasses.astuple(self.generation_config)),
                self.target,
                str(self.max_input_chars),
                str(self._overlap),
                "",
            ]
        ).encode()
        self.last_summary: MaskSummary | None = None
        self._latency_s = 0.0  # moving average of backend.generate wall time

    def __repr__(self) -> str:
        return (
            f"Masker(backend={self.backend.name!r}, model={self.model!r}, "
            f"concurrency={self.concurrency}, target={self.target!r})"
        )

    # -- public verbs -------------------------------------------------------------------

    def mask(self, text: str) -> MaskResult:
        """Mask one text in the calling thread (cached, retried, rate limited)."""
        if not isinstance(text, str):
            raise ConfigError(f"text must be a str, got {type(text).__name__}")
        run = self._new_run()
        result = self._submit(text, run, None).future.result()
        run.count(result)
        self.last_summary = run.summary()
        return result

    def mask_many(self, texts: Iterable[str], *, progress: bool = False) -> list[MaskResult]:
        """Mask ``texts`` concurrently; one result per text, in input order.

        A non-text item gets a FAILED result ("input is not text"), not an exception.
        """
        if isinstance(texts, (str, bytes)):
            raise ConfigError("texts must be an iterable of texts, not a single str")
        total = len(texts) if isinstance(texts, Sized) else None
        run = self._new_run()
        bar = _Progress(progress, total, run, "masking")
        results: list[MaskResult] = []
        try:
            for result in self._imap(texts, run):
                run.count(result)
                results.append(result)
                bar.update()
        finally:
            self.last_summary = run.summary()
            bar.close(self.last_summary)
        return results

    def mask_dataframe(
        self, df: pd.DataFrame, *, text_column: str = "source_text", progress: bool = False
    ) -> pd.DataFrame:
        """A copy of ``df`` with ``masked_text``, ``mask_status``, ``mask_error``,
        ``finish_reason`` and ``spans`` (list of ``{value, start, end, label}``) added."""
        import pandas as pd

        if not isinstance(df, pd.DataFrame):
            raise ConfigError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        if text_column not in df.columns:
            raise DatasetError(
                f"column {text_column!r} not found in the DataFrame", column=text_column
            )
        results = self.mask_many(df[text_column].tolist(), progress=progress)
        out = df.copy()
        columns: dict[str, list[Any]] = {
            "masked_text": [r.masked_text for r in results],
            "mask_status": [r.status.value for r in results],
            "mask_error": [r.error for r in results],
            "finish_reason": [r.finish_reason for r in results],
            "spans": [[s.to_dict() for s in r.spans] for r in results],
        }
        for name, values in columns.items():
            out[name] = pd.Series(values, index=df.index, dtype=object)
        result: pd.DataFrame = out
        return result

    def mask_file(
        self,
        input_path: str | os.PathLike[str],
        output_path: str | os.PathLike[str],
        *,
        text_column: str = "source_text",
        id_column: str | None = None,
        chunk_size: int = 1000,
        resume: bool = True,
        progress: bool = True,
        include_source: bool = False,
    ) -> MaskSummary:
        """Stream ``input_path`` (JSONL/CSV/TSV/Parquet) into ``output_path`` (JSONL).

        One output line per input row, in input order: ``row`` (0-based), ``id`` (with
        ``id_column``), ``status``, ``masked_text``, ``error``, ``finish_reason``, ``spans``
        (offsets and labels; values only with ``include_source``) and ``key`` (the content
        hash used by the cache and to check a resume matches its input). Lines are flushed
        as they are written and fsynced every ``chunk_size`` rows. With ``resume=True`` an
        existing output is checked against the input and its rows are skipped, so no row
        whose result was written is sent again; a torn last line is cut and redone.
        """
        in_path, out_path = Path(input_path), Path(output_path)
        chunk_size = _check_int("chunk_size", chunk_size, 1)
        if out_path.suffix.lower() not in _OUTPUT_SUFFIXES:
            raise ConfigError(
                f"output is written as JSON lines; use a .jsonl path, not {out_path.name}"
            )
        if in_path.exists() and out_path.exists() and in_path.resolve() == out_path.resolve():
            raise ConfigError("output_path must differ from input_path")
        rows = iter_rows(in_path, text_column, id_column, chunk_size=chunk_size)
        total = count_rows(in_path)
        resuming = resume and out_path.exists()
        expected_skip = 0
        if resuming:
            dropped = repair_tail(out_path)
            if dropped:
                logger.info("cut a torn last line (%d bytes) from the output", dropped)
            expected_skip = _count_lines(out_path)

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
                    yield row.text if row.error is None else _BadRow(row.error)
                    continue
                self._check_resumed(record, row, id_column, out_path.name)
                self._prefill(record, row)
                skipped += 1
            if not exhausted and next(records, None) is not None:
                raise DatasetError(
                    f"output file {out_path.name} has more rows than the input; "
                    "it was written from another input (use resume=False or a new path)"
                )

        left = None if total is None else max(0, total - expected_skip)
        bar = _Progress(progress, left, run, f"masking {in_path.name}")
        out_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with JsonlAppender(out_path, truncate=not resuming) as writer:
                for result in self._imap(to_do(), run):
                    row = pending.popleft()
                    writer.write(self._record(row, result, id_column, include_source))
                    run.count(result)
                    if run.done % chunk_size == 0:
                        writer.sync()
                    bar.update()
        finally:
            self.last_summary = run.summary(skipped)
            bar.close(self.last_summary)
        logger.info("mask_file: %s", self.last_summary)
        return self.last_summary

    # -- cache ----------------------------------------------------------------------------

    def cache_key(self, text: str) -> str:
        """sha256 of model, generation config, target, chunking settings and the prompt."""
        digest = hashlib.sha256(self._key_prefix)
        digest.update(self.prompt_builder.format(text).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def clear_cache(self) -> None:
        """Forget every cached result."""
        with self._cache_lock:
            self._cache.clear()

    def _remember(self, key: str, entry: Future[MaskResult] | MaskResult) -> None:
        """Insert under the cache lock; evict the least recently used entries."""
        self._cache[key] = entry
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _settle(self, key: str, fut: Future[MaskResult]) -> None:
        """Keep a finished result as a plain value (lighter than a future); drop failures
        and crashes so a later identical text is tried again."""
        with self._cache_lock:
            if self._cache.get(key) is not fut:
                return
            if fut.cancelled() or fut.exception() is not None:
                del self._cache[key]
                return
            result = fut.result()
            if result.status is MaskStatus.FAILED:
                del self._cache[key]
            else:
                self._cache[key] = result

    # -- scheduling -----------------------------------------------------------------------

    def _new_run(self) -> _Run:
        return _Run(self.retry, self._sleep)

    def _submit(self, value: object, run: _Run, batch: _Batch | None) -> _Ticket:
        """A future for ``value``'s result: done at once, from the cache, or new.

        A new future is appended to ``batch`` (to be run by the pool) and owned by the
        caller; with ``batch=None`` it is computed inline in the calling thread.
        """
        if isinstance(value, _BadRow):
            return _Ticket(_completed(MaskResult("", None, MaskStatus.FAILED, error=value.error)))
        if not isinstance(value, str):
            error = f"input is not text ({type(value).__name__})"
            return _Ticket(_completed(MaskResult("", None, MaskStatus.FAILED, error=error)))
        if not value.strip():  # nothing to mask: no request
            return _Ticket(_completed(MaskResult(value, value, MaskStatus.OK)))
        fut: Future[MaskResult] = Future()
        if self._cache_enabled:
            key = self.cache_key(value)
            with self._cache_lock:
                hit = self._cache.get(key)
                if isinstance(hit, MaskResult) or (hit is not None and not hit.cancelled()):
                    self._cache.move_to_end(key)
                    run.cached += 1
                    return _Ticket(_completed(hit) if isinstance(hit, MaskResult) else hit)
                self._remember(key, fut)
            fut.add_done_callback(lambda f: self._settle(key, f))
        if batch is None:
            self._run_one(value, fut, run)
        else:
            batch.append((value, fut))
        return _Ticket(fut, owned=True)

    def _run_one(self, text: str, fut: Future[MaskResult], run: _Run) -> bool:
        """Compute one future; False when its error must stop the rest of a batch."""
        if not fut.set_running_or_notify_cancel():
            return True
        try:
            fut.set_result(self._mask_text(text, run))
        except BaseException as exc:
            fut.set_exception(exc)
            return not isinstance(exc, _FATAL)
        return True

    def _run_batch(self, batch: _Batch, run: _Run) -> None:
        """A pool task: several rows in order (fewer thread hand-offs per row)."""
        for i, (text, fut) in enumerate(batch):
            if not self._run_one(text, fut, run):
                for _, rest in batch[i + 1 :]:
                    rest.cancel()  # the run stops at the fatal error before these
                return

    def _imap(self, values: Iterable[object], run: _Run) -> Iterator[MaskResult]:
        """Results for ``values`` in order, with a bounded number submitted ahead.

        Rows go to the pool one by one. Only when requests are very fast (a local model,
        a cache-like backend) is the thread hand-off per row a real cost; then rows go in
        batches that grow with the backlog (up to ``_MAX_BATCH``). Slow requests never
        batch, so no worker idles at the end while another finishes a batch.
        """
        window = self.concurrency * _WINDOW_PER_WORKER
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="pii-gemini-mask")
        pending: deque[tuple[object, _Ticket]] = deque()
        batch: _Batch = []

        def flush() -> None:
            if batch:
                pool.submit(self._run_batch, batch.copy(), run)
                batch.clear()

        def next_result() -> MaskResult:
            value, ticket = pending.popleft()
            if not ticket.future.done():
                flush()  # never wait for a row that was not handed to a worker
            try:
                return ticket.future.result()
            except CancelledError:
                # A cached future shared with another run that was aborted: redo it here.
                ticket = self._submit(value, run, batch)
                flush()
                return ticket.future.result()

        try:
            for value in values:
                pending.append((value, self._submit(value, run, batch)))
                size = 1
                if self._latency_s < _BATCH_BELOW_S:
                    size = min(_MAX_BATCH, len(pending) // (2 * self.concurrency))
                if len(batch) >= max(1, size):
                    flush()
                while len(pending) >= window or (pending and pending[0][1].future.done()):
                    yield next_result()
            flush()
            while pending:
                yield next_result()
        except BaseException:
            for _, ticket in pending:
                if ticket.owned:
                    ticket.future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)

    # -- one text -------------------------------------------------------------------------

    def _mask_text(self, text: str, run: _Run) -> MaskResult:
        """Mask one text, in pieces when it is longer than ``max_input_chars``.

        Each piece is sent without its surrounding whitespace (a model trims its answer,
        which would otherwise stretch the last span over it) and spans are shifted back.
        """
        pieces = split_text(text, self.max_input_chars, self._overlap)
        if len(pieces) == 1:
            start, end = _trim(text, 0, len(text))
            o = self._mask_piece(text[start:end], run)
            masked = None if o.masked_text is None else text[:start] + o.masked_text + text[end:]
            spans = _shift(o.spans, start)
            return MaskResult(text, masked, o.status, spans, o.finish_reason, o.error, o.raw_output)
        found: list[Span] = []
        finish: str | None = None
        for piece in pieces:
            start, end = _trim(text, piece.start, piece.end)
            if start == end:
                continue
            o = self._mask_piece(text[start:end], run)
            if o.status is not MaskStatus.OK:  # stop paying for a text that cannot succeed
                return MaskResult(text, None, o.status, (), o.finish_reason, o.error)
            found += _shift(o.spans, start)
            finish = o.finish_reason
        merged = merge_spans(text, found)
        return MaskResult(text, _render(text, merged), MaskStatus.OK, merged, finish)

    def _mask_piece(self, piece: str, run: _Run) -> _Outcome:
        prompt = self.prompt_builder.format(piece)
        estimate = self._estimate_tokens(prompt, piece)
        try:
            generation = run.retrier.call(self._generate, prompt, estimate, run)
        except _FATAL:
            raise
        except Exception as exc:  # an error left after retries fails this row only
            logger.debug("a row failed after retries: %s", _error_name(exc))
            return _Outcome(MaskStatus.FAILED, error=_error_name(exc))
        status = generation.to_status()
        if status is not MaskStatus.OK:
            reason = generation.block_reason or generation.finish_reason
            error = f"blocked ({reason})" if status is MaskStatus.BLOCKED else None
            return _Outcome(
                status,
                finish_reason=generation.finish_reason,
                error=error,
                raw_output=generation.text,
            )
        raw = generation.text or ""
        try:
            cleaned = _clean(raw)
            if self.target == "entities":
                spans = _spans_from_entities(piece, cleaned)
                masked = _render(piece, spans)
            else:
                spans = _spans_from_masked(piece, cleaned)
                masked = cleaned
        except _FATAL:
            raise
        except Exception as exc:  # an answer we cannot read fails this row only
            logger.debug("could not read a model answer: %s", type(exc).__name__)
            return _Outcome(
                MaskStatus.FAILED,
                finish_reason=generation.finish_reason,
                error=f"unreadable answer ({type(exc).__name__})",
                raw_output=raw,
            )
        return _Outcome(MaskStatus.OK, masked, spans, generation.finish_reason, raw_output=raw)

    def _estimate_tokens(self, prompt: str, piece: str) -> float:
        answer = len(piece) / _CHARS_PER_TOKEN + _OUTPUT_TOKEN_SLACK
        cap = self.generation_config.max_output_tokens
        if cap is not None:
            answer = min(answer, cap)
        return len(prompt) / _CHARS_PER_TOKEN + answer

    def _generate(self, prompt: str, estimate: float, run: _Run) -> Generation:
        """One API request: in-flight slot, then rate-limit slot, then the call."""
        with self._inflight:
            if self._limiter.active:
                self._limiter.acquire(estimate)
            started = time.perf_counter()
            generation = self.backend.generate(self.model, prompt, self.generation_config)
            # A moving average of request time; races between threads only drop samples.
            self._latency_s += (time.perf_counter() - started - self._latency_s) * 0.1
        self._limiter.settle(estimate, generation.prompt_tokens + generation.output_tokens)
        run.add_tokens(generation)
        return generation

    # -- files ----------------------------------------------------------------------------

    def _record(
        self, row: InputRow, result: MaskResult, id_column: str | None, include_source: bool
    ) -> dict[str, Any]:
        record: dict[str, Any] = {"row": row.index}
        if id_column is not None:
            record["id"] = row.id
        record.update(
            status=result.status.value,
            masked_text=result.masked_text,
            error=result.error,
            finish_reason=result.finish_reason,
            spans=[
                s.to_dict()
                if include_source
                else {"start": s.start, "end": s.end, "label": s.label}
                for s in result.spans
            ],
            key=self.cache_key(row.text)
            if isinstance(row.text, str) and row.error is None
            else None,
        )
        if include_source:
            record["source_text"] = row.text if isinstance(row.text, str) else None
        return record

    def _check_resumed(
        self, record: dict[str, Any], row: InputRow, id_column: str | None, name: str
    ) -> None:
        """Refuse to resume from an output written for another input or other settings."""
        expected_key = (
            self.cache_key(row.text) if isinstance(row.text, str) and row.error is None else None
        )
        same = record.get("row") == row.index and record.get("key") == expected_key
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
        if not self._cache_enabled or not isinstance(text, str) or not isinstance(key, str):
            return
        try:
            status = MaskStatus(record.get("status"))
            if status is MaskStatus.FAILED:
                return
            spans = tuple(
                Span(
                    int(s["start"]),
                    int(s["end"]),
                    str(s["label"]),
                    text[int(s["start"]) : int(s["end"])],
                )
                for s in record.get("spans") or ()
            )
            result = MaskResult(
                text,
                record.get("masked_text"),
                status,
                spans,
                record.get("finish_reason"),
                record.get("error"),
            )
        except (ValueError, KeyError, TypeError):
            return
        with self._cache_lock:
            if key not in self._cache:
                self._remember(key, result)


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` narrowed to exclude leading and trailing whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _shift(spans: tuple[Span, ...], offset: int) -> tuple[Span, ...]:
    if not offset:
        return spans
    return tuple(Span(s.start + offset, s.end + offset, s.label, s.value) for s in spans)


def _count_lines(path: Path) -> int:
    """Non-empty lines in ``path`` (read in blocks, constant memory)."""
    count = 0
    with path.open("rb") as fh:
        for line in fh:
            if line.strip():
                count += 1
    return count
