"""The per-text pipeline: the stages one text passes, top to bottom in ``Pipeline.mask``.

1. **split** - texts longer than ``max_input_chars`` go in overlapping pieces (``_chunking``),
   each sent without its surrounding whitespace;
2. **prompt** - the prompt builder formats a piece;
3. **generate** - one backend request through the executor's ``RequestGate`` (in-flight cap,
   rate limits, retries); an error left after retries, a block, an empty or cut answer ends
   the text with that status;
4. **clean** - chatter around the answer is stripped (``_hygiene.clean_output``);
5. **read** - spans are recovered: grounded in the source for entity targets, aligned with
   the source for a masked-text answer (``_align``);
6. **merge** - the pieces' spans are merged (several pieces are re-rendered from the source);
7. **finish** - the safety net and the operators (``_finish.Finisher``).

Nothing here knows about threads, caches or files.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass

from .._align import align
from .._chunking import merge_spans, split_text
from .._entities import ground_entities, parse_entities, render_masked
from .._exceptions import (
    BackendUnavailableError,
    CircuitOpenError,
    ConfigError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExhaustedError,
)
from .._hygiene import clean_output
from .._types import Generation, MaskResult, MaskStatus, Span
from ..backends.base import Backend
from ._breaker import error_name
from ._executor import RequestGate, RunCancelled
from ._finish import Finisher
from ._settings import MaskerSettings
from ._summary import MaskRun

__all__ = ["FATAL", "Pipeline"]

logger = logging.getLogger(__name__)

# Errors that no row can get past: stop the run instead of failing every row.
FATAL = (
    ConfigError,
    PermissionDeniedError,
    NotFoundError,
    BackendUnavailableError,
    QuotaExhaustedError,
    CircuitOpenError,
)
_STOP = (*FATAL, RunCancelled)  # re-raised by the stages: they end the run, not the row
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # not a character: UTF-8 cannot hold it
_CHARS_PER_TOKEN = 4  # rough token estimate for the tokens/minute limit before the real count
_OUTPUT_TOKEN_SLACK = 16  # tokens allowed above the input size for an answer estimate


@dataclass(frozen=True)
class Reading:
    """What the model gave for a text or a piece of it (offsets relative to it)."""

    status: MaskStatus
    masked_text: str | None = None
    spans: tuple[Span, ...] = ()
    finish_reason: str | None = None
    error: str | None = None
    raw_output: str | None = None
    faithful: bool = True
    chatter: bool = False
    rendered: bool = False  # masked_text was rendered from the source and the spans


class Pipeline:
    """Masks one text with the model, then the safety net and the operators."""

    def __init__(
        self, settings: MaskerSettings, backend: Backend, gate: RequestGate, finisher: Finisher
    ) -> None:
        self._settings = settings
        self._backend = backend
        self._gate = gate
        self._finisher = finisher

    def mask(self, text: str, run: MaskRun) -> MaskResult:
        """Mask one non-blank text: read the model's answer(s), then finish.

        A lone surrogate (half of a cut emoji: not a character, no SDK can send it) is
        replaced by U+FFFD first, one for one, so offsets hold.
        """
        text = _LONE_SURROGATE.sub("\ufffd", text)
        reading = self._read_text(text, run)  # split, prompt, generate, clean, read, merge
        if reading.status is not MaskStatus.OK or reading.masked_text is None:
            return MaskResult(
                text, None, reading.status, reading.spans, reading.finish_reason, reading.error,
                reading.raw_output, faithful=reading.faithful, chatter=reading.chatter,
            )  # fmt: skip
        try:
            final, spans, added, tokens = self._finisher.finish(  # safety net, operators
                text, reading.spans, reading.masked_text, reading.faithful or reading.rendered
            )
        except Exception as exc:  # settings were checked up front: this row's problem only
            logger.debug("could not finish a row: %s", type(exc).__name__)
            return MaskResult(
                text, None, MaskStatus.FAILED, reading.spans, reading.finish_reason,
                f"could not finish masking ({type(exc).__name__})", reading.raw_output,
                faithful=reading.faithful, chatter=reading.chatter,
            )  # fmt: skip
        return MaskResult(
            text, final, reading.status, spans, reading.finish_reason, reading.error,
            reading.raw_output, safety_net_spans=added, faithful=reading.faithful,
            chatter=reading.chatter, tokens=tokens,
        )  # fmt: skip

    def _read_text(self, text: str, run: MaskRun) -> Reading:
        """The model's reading of ``text``, in pieces when it is longer than the limit.

        Pieces overlap, so their answers cannot be stitched: a text read in several pieces
        is rendered from the spans recovered in each (as with ``repair=True``).
        """
        s = self._settings
        pieces = split_text(text, s.max_input_chars, s.overlap)
        if len(pieces) == 1:
            start, end = _trim(text, 0, len(text))
            r = self._read_piece(text[start:end], run)
            r = dataclasses.replace(r, spans=_shift(r.spans, start))
            if r.status is not MaskStatus.OK or r.masked_text is None:
                return r
            return dataclasses.replace(r, masked_text=text[:start] + r.masked_text + text[end:])
        found: list[Span] = []
        finish: str | None = None
        faithful, chatter = True, False
        for piece in pieces:
            start, end = _trim(text, piece.start, piece.end)
            if start == end:
                continue
            r = self._read_piece(text[start:end], run)
            if r.status is not MaskStatus.OK:  # stop paying for a text that cannot succeed
                return Reading(r.status, finish_reason=r.finish_reason, error=r.error)
            found += _shift(r.spans, start)
            finish = r.finish_reason
            faithful, chatter = faithful and r.faithful, chatter or r.chatter
        merged = merge_spans(text, found)
        return Reading(
            MaskStatus.OK, render_masked(text, merged), merged, finish,
            faithful=faithful, chatter=chatter, rendered=True,
        )  # fmt: skip

    def _read_piece(self, piece: str, run: MaskRun) -> Reading:
        """Prompt, generate, clean and read one piece."""
        prompt = self._settings.prompter.format(piece)
        try:
            generation = self._generate(prompt, piece, run)
        except _STOP:
            raise
        except Exception as exc:  # an error left after retries fails this row only
            logger.debug("a row failed after retries: %s", error_name(exc))
            return Reading(MaskStatus.FAILED, error=error_name(exc))
        status = generation.to_status()
        if status is not MaskStatus.OK:
            reason = generation.block_reason or generation.finish_reason
            error = f"blocked ({reason})" if status is MaskStatus.BLOCKED else None
            return Reading(
                status,
                finish_reason=generation.finish_reason,
                error=error,
                raw_output=generation.text,
            )
        raw = generation.text or ""
        try:
            cleaned = clean_output(raw, piece)
            spans, faithful, masked = self._read_answer(piece, cleaned.text)
        except _STOP:
            raise
        except Exception as exc:  # an answer we cannot read fails this row only
            logger.debug("could not read a model answer: %s", type(exc).__name__)
            return Reading(
                MaskStatus.FAILED,
                finish_reason=generation.finish_reason,
                error=f"unreadable answer ({type(exc).__name__})",
                raw_output=raw,
            )
        return Reading(
            MaskStatus.OK, masked, spans, generation.finish_reason, raw_output=raw,
            faithful=faithful, chatter=cleaned.had_chatter,
        )  # fmt: skip

    def _read_answer(self, piece: str, answer: str) -> tuple[tuple[Span, ...], bool, str]:
        """Spans, faithfulness and masked text from a cleaned answer."""
        if self._settings.target != "masked_text":  # an entity list: JSON or LABEL: value lines
            spans = tuple(ground_entities(piece, parse_entities(answer)))
            return spans, True, render_masked(piece, spans)
        alignment = align(piece, answer)
        return alignment.spans, alignment.faithful, answer

    def _generate(self, prompt: str, piece: str, run: MaskRun) -> Generation:
        """One request through the gate (in-flight slot, rate limit, retries)."""
        s = self._settings

        def request() -> Generation:
            return self._backend.generate(s.model, prompt, s.generation_config)

        generation = self._gate.call(run, request, self._estimate_tokens(prompt, piece), _tokens)
        run.add_tokens(generation)
        return generation

    def _estimate_tokens(self, prompt: str, piece: str) -> float:
        answer = len(piece) / _CHARS_PER_TOKEN + _OUTPUT_TOKEN_SLACK
        cap = self._settings.generation_config.max_output_tokens
        if cap is not None:
            answer = min(answer, cap)
        return len(prompt) / _CHARS_PER_TOKEN + answer


def _tokens(generation: Generation) -> float:
    return generation.prompt_tokens + generation.output_tokens + generation.thought_tokens


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
