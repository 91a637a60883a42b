"""``Masker``: the facade that wires settings, pipeline, executor and file job together."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sized
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigError, DatasetError
from .._ratelimit import RateLimiter
from .._retry import RetryPolicy
from .._types import GenerationConfig, MaskResult, MaskStatus
from ..backends.base import Backend
from ..detectors import SafetyNet
from ..vault import Vault, count_placeholders
from ._breaker import BreakerPolicy, error_name
from ._executor import Executor, RequestGate
from ._filejob import BadRow, FileJob, FileJobOptions
from ._finish import Finisher
from ._pipeline import FATAL, Pipeline
from ._records import all_spans
from ._settings import MaskerSettings, OperatorSpec, check_int
from ._summary import MaskRun, MaskSummary, Progress

if TYPE_CHECKING:
    import pandas as pd

    from ..dataset import PromptBuilder

__all__ = ["Masker"]

_DEFAULT_CACHE_SIZE = 10_000  # results kept for identical texts; bounds memory on huge runs
_DEFAULT_BREAKER = BreakerPolicy()  # 10 failed requests in a row, or half of the last 100


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
      count against them. Requests are spaced evenly and no 61 s see more than
      ``floor(requests_per_minute)`` of them leave (a second to spare for the way to the
      service, which counts per rolling minute); tokens are estimated up front (4
      characters per token) and settled with the counts the service reports.
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
    * ``breaker`` - when a run stops itself in an outage (``BreakerPolicy``: failed
      requests in a row, or a failure rate over a window; ``None``: never). It then raises
      ``CircuitOpenError``; what is done is kept and a resumed ``mask_file`` retries the
      failed rows. An exhausted daily quota (``QuotaExhaustedError``) stops a run at once.

    Every text gets a result: a problem with one row (not text, an unreadable answer, an
    operator that cannot handle a value, a bug) is that row's ``FAILED`` status and error,
    never the end of the run.
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
        breaker: BreakerPolicy | None = _DEFAULT_BREAKER,
    ) -> None:
        s = MaskerSettings.validate(
            backend, model, prompt_builder=prompt_builder, generation_config=generation_config,
            retry=retry, concurrency=concurrency, max_input_chars=max_input_chars, cache=cache,
            cache_size=cache_size, safety_net=safety_net, operator=operator,
            operator_params=operator_params, vault=vault, repair=repair,
        )  # fmt: skip
        self._settings = s
        self.backend = backend
        self.model = s.model
        self.prompt_builder = s.prompter
        self.target = s.target
        self.generation_config = s.generation_config
        self.retry = s.retry
        self.safety_net = s.safety_net
        self.operator = s.operator
        self.operator_params = s.operator_params
        self.repair = s.repair
        self.concurrency = s.concurrency
        self.max_input_chars = s.max_input_chars
        if breaker is not None and not isinstance(breaker, BreakerPolicy):
            raise ConfigError(
                f"breaker must be a BreakerPolicy or None, got {type(breaker).__name__}"
            )
        self.breaker = breaker
        self.vault: Vault | None = vault if vault is not None or not s.reversible else Vault()
        self.last_summary: MaskSummary | None = None
        self._sleep = sleep
        limiter = RateLimiter(requests_per_minute, tokens_per_minute, clock=clock, sleep=sleep)
        gate = RequestGate(s.concurrency, limiter)
        finisher = Finisher(
            s.safety_net, s.operator, s.operator_params, self.vault,
            repair=s.repair, plain_replace=s.plain_replace,
        )  # fmt: skip
        self._executor: Executor[MaskResult, MaskRun] = Executor(
            Pipeline(s, backend, gate, finisher).mask,
            gate,
            concurrency=s.concurrency,
            cache_size=s.cache_size,
            key=self.cache_key,
            keep=lambda result: result.status is not MaskStatus.FAILED,
            shortcut=_shortcut,
            fatal=FATAL,
            on_error=_failed,
        )

    @classmethod
    def for_model(
        cls, backend: Backend, model: str, *, prompt_builder: PromptBuilder | None = None,
        **kwargs: Any,
    ) -> Masker:  # fmt: skip
        """A Masker that prompts ``model`` the way it was tuned (its training contract).

        Without ``prompt_builder`` the contract's template and target are used; with one,
        a mismatch is a ConfigError before any request. Models without a contract (base
        models, models tuned elsewhere) get ``prompt_builder`` or the default.
        """
        from .._contract import check_prompter, contract_of, prompt_builder_for

        contract = contract_of(backend, model, kwargs.get("retry"))
        if contract is not None and contract.target:
            if prompt_builder is None:
                prompt_builder = prompt_builder_for(contract)
            check_prompter(contract, prompt_builder, model)
        return cls(backend, model, prompt_builder=prompt_builder, **kwargs)

    def __repr__(self) -> str:
        return (
            f"Masker(backend={self.backend.name!r}, model={self.model!r}, "
            f"concurrency={self.concurrency}, target={self.target!r})"
        )

    def mask(self, text: str) -> MaskResult:
        """Mask one text in the calling thread (cached, retried, rate limited)."""
        if not isinstance(text, str):
            raise ConfigError(f"text must be a str, got {type(text).__name__}")
        run = self._new_run()
        result = self._executor.run_one(text, run)
        run.count(result)
        self.last_summary = run.summary()
        return result

    def unmask(
        self,
        text: str,
        vault: Vault | None = None,
        *,
        tokens: Iterable[str] | None = None,
        vault_id: str | None = None,
    ) -> str:
        """``text`` (the masked text, or e.g. an LLM's answer to it) with the originals of
        its numbered placeholders and surrogates put back, from ``vault`` or ``self.vault``.

        Pass ``tokens=result.tokens`` (the tokens issued for that text) so that only they
        are filled: a placeholder the text held before masking, or another row's token,
        then stays as it is. Placeholders are recognised despite small changes (case,
        spacing, leading zeros); see ``vault.unmask``. ``vault_id`` (a ``mask_file`` line's
        ``vault``) refuses another vault than the text's (``VaultMismatchError``).
        """
        vault = vault if vault is not None else self.vault
        if vault is None:
            raise ConfigError(
                "nothing to unmask with: this Masker has no vault (use a reversible "
                "operator such as 'numbered' or 'surrogate', or pass vault=)"
            )
        if not isinstance(vault, Vault):
            raise ConfigError(f"vault must be a Vault, got {type(vault).__name__}")
        return vault.unmask(text, tokens=tokens, vault_id=vault_id)

    def mask_many(self, texts: Iterable[str], *, progress: bool = False) -> list[MaskResult]:
        """Mask ``texts`` concurrently; one result per text, in input order.

        A non-text item gets a FAILED result ("input is not text"), not an exception.
        """
        if isinstance(texts, (str, bytes)):
            raise ConfigError("texts must be an iterable of texts, not a single str")
        total = len(texts) if isinstance(texts, Sized) else None
        run = self._new_run()
        bar = Progress(progress, total, run, "masking")
        results: list[MaskResult] = []
        try:
            for result in self._executor.imap(texts, run):
                run.count(result, row=len(results))
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
        ``finish_reason``, ``spans`` (list of ``{value, start, end, label}``),
        ``vault_tokens`` and ``safety_net_spans`` added.

        ``spans`` holds every masked span, the model's and the safety net's, sorted, as
        ``masked_text`` shows them; ``safety_net_spans`` the safety net's among them;
        ``vault_tokens`` the vault tokens issued for the row (``MaskResult.tokens``, the
        ``tokens`` of a ``mask_file`` record; empty without a vault), for an ``unmask``
        limited to that row's values. The column set is the ``distributed.MASK_COLUMNS``
        contract; columns may be added to it, so select the ones you keep by name."""
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
            "spans": [[s.to_dict() for s in all_spans(r)] for r in results],
            "vault_tokens": [list(r.tokens) for r in results],
            "safety_net_spans": [[s.to_dict() for s in r.safety_net_spans] for r in results],
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
        retry_failed: bool = True,
        progress: bool = True,
        include_source: bool = False,
        vault_path: str | os.PathLike[str] | None = None,
        vault_allow_same_dir: bool = False,
        mode: str = "online",
        **batch_options: Any,
    ) -> MaskSummary:
        """Stream ``input_path`` into ``output_path`` (JSONL: ``.jsonl``/``.ndjson``/``.json``).

        Inputs: JSON Lines (``.jsonl``, ``.ndjson``, ``.json`` with one object per line, or
        a ``.json`` array of records, decoded item by item),
        ``.csv``, ``.tsv``, Parquet (``.parquet``, ``.pq``), UTF-8.

        ``mode="batch"`` (vertex backend) asks one Vertex AI batch prediction job for the
        answers first, then writes the same records; ``batch_options`` are
        ``poll_interval``, ``timeout``, ``sleep`` and ``clock`` (see ``pii_gemini.batch``).

        One output line per input row, in input order: ``row`` (0-based), ``id`` (with
        ``id_column``), ``status``, ``masked_text``, ``error``, ``finish_reason``, ``spans``
        (offsets and labels; values only with ``include_source``), ``safety_net_spans``,
        ``faithful``, ``chatter``, ``tokens`` and ``vault`` (with a vault: the tokens issued
        for the row, what ``unmask`` may fill, and the id of the vault they belong to) and
        ``key`` (a keyed hash of the row's cache key: the
        secret is in ``OUT.state``, 0600, so the output alone lets nobody test guesses of
        the source). The output is 0600 with ``include_source``, else 0644. Lines are
        flushed as written and fsynced every ``chunk_size`` rows.

        With ``resume=True`` an existing output is checked against the input and its rows
        are skipped, so no row whose result was written is sent again; a torn last line is
        cut and redone. Rows written ``failed`` are masked again unless
        ``retry_failed=False``. A file at ``output_path`` that is not provably an output of
        this library (no valid state file) is refused, never cut, extended or replaced;
        ``resume=False`` starts over only on an output of ours. Nothing is created until
        the first result, so a run that fails at its start leaves no file.

        ``vault_path`` keeps ``self.vault`` there as an append-only log (0600), refusing the
        output's directory unless ``vault_allow_same_dir``; an existing vault file is read
        first and extended, never overwritten (it keeps its id). Resuming with another vault
        than the output's (or with a new one, its file lost) raises ``VaultMismatchError``:
        it would number tokens afresh. Lines are written per ``chunk_size`` rows,
        each batch only after the vault entries holding its tokens were appended, so every
        token in the output can be unmasked even after a kill.
        """
        if mode not in ("online", "batch"):
            raise ConfigError(f"mode must be 'online' or 'batch', got {mode!r}")
        if mode == "batch" or batch_options:
            from ..batch import mask_file_batch

            if mode != "batch":
                raise ConfigError(f"{', '.join(batch_options)} need mode='batch'")
            summary: MaskSummary = mask_file_batch(
                self, input_path, output_path, text_column=text_column, id_column=id_column,
                chunk_size=chunk_size, resume=resume, progress=progress,
                include_source=include_source, vault_path=vault_path,
                vault_allow_same_dir=vault_allow_same_dir, **batch_options,
            )  # fmt: skip
            return summary
        options = FileJobOptions(
            text_column=text_column,
            id_column=id_column,
            chunk_size=check_int("chunk_size", chunk_size, 1),
            resume=resume,
            retry_failed=retry_failed,
            progress=progress,
            include_source=include_source,
            vault_path=None if vault_path is None else Path(vault_path),
            vault_allow_same_dir=vault_allow_same_dir,
        )
        job = FileJob(self._executor, self._new_run, self.cache_key, self.vault)
        return job.run(Path(input_path), Path(output_path), options, self._set_summary)

    def cache_key(self, text: str) -> str:
        """sha256 of model, generation config, target, chunking settings and the prompt."""
        digest = hashlib.sha256(self._settings.key_prefix)
        digest.update(self._settings.prompter.format(text).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def clear_cache(self) -> None:
        """Forget every cached result."""
        self._executor.clear_cache()

    def _set_summary(self, summary: MaskSummary) -> None:
        self.last_summary = summary

    def _new_run(self) -> MaskRun:
        foreign = count_placeholders if self.vault is not None else None
        return MaskRun(self.retry, self._sleep, self.breaker, foreign)


def _failed(text: str, exc: Exception) -> MaskResult:
    """The result of a text whose masking raised unexpectedly (the message may quote it)."""
    return MaskResult(text, None, MaskStatus.FAILED, error=f"internal error ({error_name(exc)})")


def _shortcut(value: object) -> MaskResult | None:
    """The result of a value that needs no request (bad row, not text, blank), else None."""
    if isinstance(value, BadRow):
        return MaskResult("", None, MaskStatus.FAILED, error=value.error)
    if not isinstance(value, str):
        error = f"input is not text ({type(value).__name__})"
        return MaskResult("", None, MaskStatus.FAILED, error=error)
    if not value.strip():  # nothing to mask: no request
        return MaskResult(value, value, MaskStatus.OK)
    return None
