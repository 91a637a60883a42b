"""Masker: mask one text, many texts, a DataFrame or a whole file with a (tuned) model.

Every backend call goes through the one retry layer (``Retrier``), at most ``concurrency``
requests are in flight, and optional requests/minute and tokens/minute limits are honoured
(``_ratelimit``). Results keep input order. Each row ends with a ``MaskStatus``: a blocked,
empty or truncated answer, or an error left after retries, is recorded on that row and the
run goes on. Identical texts are paid once (content-hash cache), texts longer than
``max_input_chars`` are masked in overlapping pieces (``_chunking``), and ``mask_file``
streams its input and appends results durably so a killed run resumes where it stopped.

After the model, a safety net of deterministic detectors (``detectors.SafetyNet``, on by
default) masks what the model missed, and an operator (``operators.anonymize``: ``[LABEL]``,
numbered placeholders, redaction, character masks, keyed hashes, Faker surrogates) decides
what replaces each value. Reversible operators record their tokens in a ``Vault`` so that
``Masker.unmask`` can restore the originals into any text, e.g. another LLM's answer.

Example::

    masker = Masker(FakeBackend(), "tunedModels/pii-masker", concurrency=16,
                    requests_per_minute=1000)
    result = masker.mask("Call Ana on 555-0100")
    summary = masker.mask_file("in.parquet", "out.jsonl", id_column="id")

    masker = Masker(backend, model, operator="numbered")
    masked = masker.mask("Mail ana@example.org").masked_text   # "Mail [EMAIL_1]"
    masker.unmask(llm_answer_to(masked))                        # originals restored
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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
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
from .detectors import SafetyNet, resolve_overlaps
from .operators import Operator, anonymize, get_operator
from .vault import Vault, unmask

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
_TARGETS = ("masked_text", "entities", "entity_lines")


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
    ``safety_net_caught`` counts the values the safety net masked that the model had missed.
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

    @property
    def total_tokens(self) -> int:
        """Tokens billed in this run (prompt + output), the cost estimate."""
        return self.prompt_tokens + self.output_tokens

    def __str__(self) -> str:
        return (
            f"{self.done} rows masked in {self.elapsed_s:.1f}s ({self.rows_per_s:.1f} rows/s): "
            f"ok={self.ok} failed={self.failed} blocked={self.blocked} empty={self.empty} "
            f"truncated={self.truncated} retried={self.retried} cached={self.cached} "
            f"resumed={self.skipped_resumed} safety_net_caught={self.safety_net_caught} "
            f"tokens={self.total_tokens} "
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
    faithful: bool = True
    chatter: bool = False


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
        self.caught = 0
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
        self.caught += len(result.safety_net_spans)

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
            safety_net_caught=self.caught,
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
            safety_net=run.caught,
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


def _render(source: str, spans: tuple[Span, ...]) -> str:
    """``source`` with every span replaced by ``[LABEL]``."""
    return render_masked(source, spans)


OperatorSpec = str | Operator


def _operators_of(spec: OperatorSpec | Mapping[str, OperatorSpec]) -> list[Operator]:
    """The Operator instances an ``operator=`` argument names (already validated)."""
    specs = list(spec.values()) if isinstance(spec, Mapping) else [spec]
    return [s if isinstance(s, Operator) else get_operator(s) for s in specs]


def _describe(value: object) -> str:
    """A description of a setting that is stable across processes (for the cache key)."""
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return repr(value)
    if isinstance(value, Mapping):
        items = sorted((str(k), _describe(v)) for k, v in value.items())
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "(" + ",".join(_describe(v) for v in value) + ")"
    if callable(value) and hasattr(value, "__qualname__"):
        return f"{getattr(value, '__module__', '')}.{value.__qualname__}"
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _settings_digest(
    net: SafetyNet | None,
    operator: OperatorSpec | Mapping[str, OperatorSpec],
    params: Mapping[str, Any],
    repair: bool,
) -> str:
    """sha256 of the post-model settings: safety net, operator(s), their params, repair.

    Hashed so that the cache key prefix never holds a hash key in clear.
    """
    parts = ["net:none"]
    if net is not None:
        detectors = ",".join(f"{type(d).__module__}.{d!r}" for d in net.detectors)
        parts = [f"net:{detectors}", _describe(net.labels_map)]
    if isinstance(operator, Mapping):
        parts.append("op:" + _describe({k: _describe_op(v) for k, v in operator.items()}))
    else:
        parts.append("op:" + _describe_op(operator))
    parts += ["params:" + _describe(dict(params)), f"repair:{repair}"]
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _describe_op(op: OperatorSpec) -> str:
    if isinstance(op, Operator):
        return f"{type(op).__module__}.{type(op).__qualname__}:{op.name}"
    return op


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
    * ``safety_net`` - deterministic detectors run on the source after the model (``True``:
      every built-in detector; a ``SafetyNet`` to choose detectors or labels; ``False``:
      off). What they find that the model missed is masked too and recorded in
      ``MaskResult.safety_net_spans``.
    * ``operator`` / ``operator_params`` - what replaces each value (``"replace"`` ->
      ``[LABEL]``, ``"numbered"``, ``"redact"``, ``"mask_chars"``, ``"hash"``,
      ``"surrogate"``, an ``Operator``, or ``{label: operator, "DEFAULT": operator}``) and
      its parameters (e.g. ``{"key": b"..."}`` for ``hash``), see ``operators.anonymize``.
    * ``vault`` - where reversible operators (``numbered``, ``surrogate``) record their
      tokens; shared by every text this Masker masks (a new ``Vault`` when not given and an
      operator needs one). ``Masker.vault`` is it; ``Masker.unmask`` reads it.
    * ``repair`` - when the model rewrote non-PII text, rebuild the masked text from the
      source and the spans that could be anchored (the model's wording is dropped; a
      placeholder that could not be anchored is lost, so its value would stay visible).
      By default the model's text is kept and only the safety net's values are masked in it.
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
        safety_net: bool | SafetyNet = True,
        operator: OperatorSpec | Mapping[str, OperatorSpec] = "replace",
        operator_params: Mapping[str, Any] | None = None,
        vault: Vault | None = None,
        repair: bool = False,
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
        if isinstance(safety_net, SafetyNet):
            self.safety_net: SafetyNet | None = safety_net
        elif isinstance(safety_net, bool):
            self.safety_net = SafetyNet() if safety_net else None
        else:
            raise ConfigError(
                f"safety_net must be True, False or a SafetyNet, got {type(safety_net).__name__}"
            )
        if operator_params is not None and not isinstance(operator_params, Mapping):
            raise ConfigError("operator_params must be a mapping of parameter names to values")
        if vault is not None and not isinstance(vault, Vault):
            raise ConfigError(f"vault must be a Vault, got {type(vault).__name__}")
        if not isinstance(repair, bool):
            raise ConfigError(f"repair must be a bool, got {type(repair).__name__}")
        self.operator_params: dict[str, Any] = dict(operator_params or {})
        # validates the operator(s) and their parameters before any request
        anonymize("", (), operator, vault=Vault(), **self.operator_params)
        self.operator = operator
        self.repair = repair
        reversible = any(op.reversible for op in _operators_of(operator))
        self.vault: Vault | None = vault if vault is not None or not reversible else Vault()
        self._plain_replace = (
            isinstance(operator, str) and operator == "replace" and not self.operator_params
        )
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
        self._key_prefix += (
            _settings_digest(self.safety_net, self.operator, self.operator_params, self.repair)
            + "\x00"
        ).encode()

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

    def unmask(self, text: str, vault: Vault | None = None) -> str:
        """``text`` (the masked text, or e.g. an LLM's answer to it) with the originals of
        every numbered placeholder and surrogate put back, from ``vault`` or ``self.vault``.

        Placeholders are recognised despite small changes (case, spacing, leading zeros);
        see ``vault.unmask``.
        """
        vault = vault if vault is not None else self.vault
        if vault is None:
            raise ConfigError(
                "nothing to unmask with: this Masker has no vault (use a reversible "
                "operator such as 'numbered' or 'surrogate', or pass vault=)"
            )
        return unmask(text, vault)

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
        ``finish_reason`` and ``spans`` (list of ``{value, start, end, label}``) added.

        ``spans`` holds the model's spans and the safety net's additions, sorted (the
        column set is the ``distributed.MASK_COLUMNS`` contract)."""
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
            "spans": [[s.to_dict() for s in _all_spans(r)] for r in results],
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
        vault_path: str | os.PathLike[str] | None = None,
        vault_allow_same_dir: bool = False,
    ) -> MaskSummary:
        """Stream ``input_path`` (JSONL/CSV/TSV/Parquet) into ``output_path`` (JSONL).

        One output line per input row, in input order: ``row`` (0-based), ``id`` (with
        ``id_column``), ``status``, ``masked_text``, ``error``, ``finish_reason``, ``spans``
        (offsets and labels; values only with ``include_source``) and ``key`` (the content
        hash used by the cache and to check a resume matches its input). Lines are flushed
        as they are written and fsynced every ``chunk_size`` rows. With ``resume=True`` an
        existing output is checked against the input and its rows are skipped, so no row
        whose result was written is sent again; a torn last line is cut and redone.
        Lines also carry ``safety_net_spans`` (like ``spans``), ``faithful`` and ``chatter``.

        ``vault_path`` saves ``self.vault`` (0600, atomically) there, refusing the output's
        directory unless ``vault_allow_same_dir``. Then lines are written per ``chunk_size``
        rows, each batch only after the vault holding its tokens was saved, so every token
        in the output can be unmasked even after a kill; a resumed run loads the saved vault
        first, so numbering goes on where it stopped.
        """
        in_path, out_path = Path(input_path), Path(output_path)
        chunk_size = _check_int("chunk_size", chunk_size, 1)
        if out_path.suffix.lower() not in _OUTPUT_SUFFIXES:
            raise ConfigError(
                f"output is written as JSON lines; use a .jsonl path, not {out_path.name}"
            )
        if in_path.exists() and out_path.exists() and in_path.resolve() == out_path.resolve():
            raise ConfigError("output_path must differ from input_path")
        vault_file = None if vault_path is None else Path(vault_path)
        if vault_file is not None:
            self._check_vault_path(vault_file, out_path, vault_allow_same_dir)
        rows = iter_rows(in_path, text_column, id_column, chunk_size=chunk_size)
        total = count_rows(in_path)
        resuming = resume and out_path.exists()
        expected_skip = 0
        if resuming:
            dropped = repair_tail(out_path)
            if dropped:
                logger.info("cut a torn last line (%d bytes) from the output", dropped)
            expected_skip = _count_lines(out_path)
        if vault_file is not None and resuming:
            self._load_vault(vault_file, expected_skip)

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
        held: list[dict[str, Any]] = []  # with a vault: lines waiting for the vault's save

        def flush(writer: JsonlAppender) -> None:
            if vault_file is not None and self.vault is not None:
                self.vault.save(
                    vault_file, masked_output=out_path, allow_same_dir=vault_allow_same_dir
                )
                for record in held:
                    writer.write(record)
                held.clear()
            writer.sync()

        try:
            with JsonlAppender(out_path, truncate=not resuming) as writer:
                try:
                    for result in self._imap(to_do(), run):
                        row = pending.popleft()
                        record = self._record(row, result, id_column, include_source)
                        if vault_file is None:
                            writer.write(record)
                        else:
                            held.append(record)
                        run.count(result)
                        if run.done % chunk_size == 0:
                            flush(writer)
                        bar.update()
                finally:
                    flush(writer)
        finally:
            self.last_summary = run.summary(skipped)
            bar.close(self.last_summary)
        logger.info("mask_file: %s", self.last_summary)
        return self.last_summary

    def _check_vault_path(self, vault_file: Path, out_path: Path, allow_same_dir: bool) -> None:
        """Fail before any request when the vault could not be saved there."""
        if self.vault is None:
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
        """Merge a previous run's saved vault into ``self.vault`` before resuming."""
        assert self.vault is not None
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
            self.vault.add(entry)

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
            spans = _shift(o.spans, start)
            if o.status is not MaskStatus.OK or o.masked_text is None:
                return MaskResult(
                    text, None, o.status, spans, o.finish_reason, o.error, o.raw_output,
                    faithful=o.faithful, chatter=o.chatter,
                )  # fmt: skip
            masked = text[:start] + o.masked_text + text[end:]
            final, added = self._after_model(text, spans, masked, o.faithful)
            return MaskResult(
                text, final, o.status, spans, o.finish_reason, o.error, o.raw_output,
                safety_net_spans=added, faithful=o.faithful, chatter=o.chatter,
            )  # fmt: skip
        found: list[Span] = []
        finish: str | None = None
        faithful, chatter = True, False
        for piece in pieces:
            start, end = _trim(text, piece.start, piece.end)
            if start == end:
                continue
            o = self._mask_piece(text[start:end], run)
            if o.status is not MaskStatus.OK:  # stop paying for a text that cannot succeed
                return MaskResult(text, None, o.status, (), o.finish_reason, o.error)
            found += _shift(o.spans, start)
            finish = o.finish_reason
            faithful, chatter = faithful and o.faithful, chatter or o.chatter
        merged = merge_spans(text, found)
        # Pieces overlap, so their answers cannot be stitched: the text is rendered from the
        # spans recovered in each piece (as with repair=True).
        final, added = self._after_model(text, merged, _render(text, merged), True)
        return MaskResult(
            text, final, MaskStatus.OK, merged, finish,
            safety_net_spans=added, faithful=faithful, chatter=chatter,
        )  # fmt: skip

    def _after_model(
        self, text: str, spans: tuple[Span, ...], model_masked: str, faithful: bool
    ) -> tuple[str, tuple[Span, ...]]:
        """The final masked text and the safety net's additions (offsets into ``text``).

        A faithful answer (or any with ``repair``) is rendered from ``text`` and every span
        through the operator, so the non-PII text is the source's. An unfaithful one keeps
        the model's wording - rendering from the source would reveal the values of
        placeholders that could not be anchored - and only the safety net's values that
        occur in it (and whatever its detectors find in the answer itself) are masked; only
        those are reported as added.
        """
        added = self._net_spans(text, spans)
        if faithful or self.repair:
            if faithful and not added and self._plain_replace:
                return model_masked, added  # already exactly what rendering would give
            merged = tuple(sorted(spans + added, key=lambda s: (s.start, s.end)))
            return self._anonymize(text, merged), added
        # The spans recovered from a rewritten answer are incomplete: a value counts as
        # missed only when the answer really holds it.
        added = tuple(s for s in added if s.value in model_masked)
        return self._mask_leaks(model_masked, added), added

    def _net_spans(self, text: str, spans: tuple[Span, ...]) -> tuple[Span, ...]:
        """Detector hits not wholly covered by the model's spans.

        A value the model masked only in part (``GB82 WEST [PHONE]`` for an IBAN) counts
        as missed: its span is added and merged with the model's when rendering, so the
        whole value is masked.
        """
        if self.safety_net is None:
            return ()
        hits = self.safety_net.scan(text)
        if not hits or not spans:
            return hits
        covered = bytearray(len(text))
        for s in spans:
            covered[s.start : s.end] = b"\x01" * (s.end - s.start)
        return tuple(h for h in hits if 0 in covered[h.start : h.end])

    def _anonymize(self, text: str, spans: Iterable[Span]) -> str:
        return anonymize(text, spans, self.operator, vault=self.vault, **self.operator_params).text

    def _mask_leaks(self, output: str, added: tuple[Span, ...]) -> str:
        """Mask, in the model's own (unfaithful) answer, the safety net's values wherever
        they occur and what the detectors find in it; the rest stays as the model wrote it."""
        found: list[Span] = []
        for value, label in {s.value: s.label for s in added if s.value}.items():
            at = output.find(value)
            while at >= 0:
                found.append(Span(at, at + len(value), label, value))
                at = output.find(value, at + len(value))
        if self.safety_net is not None:
            found += self.safety_net.scan(output)
        if not found:
            return output
        return self._anonymize(output, resolve_overlaps(found))

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
            cleaned = clean_output(raw, piece)
            faithful = True
            if self.target != "masked_text":  # an entity list: JSON or LABEL: value lines
                spans = _spans_from_entities(piece, cleaned.text)
                masked = _render(piece, spans)
            else:
                alignment = align(piece, cleaned.text)
                spans, faithful, masked = alignment.spans, alignment.faithful, cleaned.text
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
        return _Outcome(
            MaskStatus.OK, masked, spans, generation.finish_reason, raw_output=raw,
            faithful=faithful, chatter=cleaned.had_chatter,
        )  # fmt: skip

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
            spans=[_span_record(s, include_source) for s in result.spans],
            safety_net_spans=[_span_record(s, include_source) for s in result.safety_net_spans],
            faithful=result.faithful,
            chatter=result.chatter,
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
            spans = _spans_of_record(record.get("spans"), text)
            result = MaskResult(
                text,
                record.get("masked_text"),
                status,
                spans,
                record.get("finish_reason"),
                record.get("error"),
                safety_net_spans=_spans_of_record(record.get("safety_net_spans"), text),
                faithful=bool(record.get("faithful", True)),
                chatter=bool(record.get("chatter", False)),
            )
        except (ValueError, KeyError, TypeError):
            return
        with self._cache_lock:
            if key not in self._cache:
                self._remember(key, result)


def _all_spans(result: MaskResult) -> tuple[Span, ...]:
    """The model's spans and the safety net's additions, sorted by offset."""
    if not result.safety_net_spans:
        return result.spans
    return tuple(sorted(result.spans + result.safety_net_spans, key=lambda s: (s.start, s.end)))


def _span_record(span: Span, include_value: bool) -> dict[str, Any]:
    """A span as an output line holds it: offsets and label, the value only if asked."""
    if include_value:
        return span.to_dict()
    return {"start": span.start, "end": span.end, "label": span.label}


def _spans_of_record(items: object, text: str) -> tuple[Span, ...]:
    """Spans read back from an output line (values taken from ``text``)."""
    if not items:
        return ()
    if not isinstance(items, list):
        raise TypeError("spans must be a list")
    return tuple(
        Span(int(s["start"]), int(s["end"]), str(s["label"]), text[int(s["start"]) : int(s["end"])])
        for s in items
    )


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
