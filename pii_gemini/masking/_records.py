"""One output line of ``mask_file``: a ``MaskResult`` as a JSON record, and back."""

from __future__ import annotations

from typing import Any

from .._io import InputRow
from .._types import MaskResult, MaskStatus, Span

__all__ = ["all_spans", "record_of", "result_of_record"]


def all_spans(result: MaskResult) -> tuple[Span, ...]:
    """The model's spans and the safety net's additions, sorted by offset."""
    if not result.safety_net_spans:
        return result.spans
    return tuple(sorted(result.spans + result.safety_net_spans, key=lambda s: (s.start, s.end)))


def record_of(
    row: InputRow,
    result: MaskResult,
    key: str | None,
    id_column: str | None,
    include_source: bool,
    vault_id: str | None,
) -> dict[str, Any]:
    """The output line for ``row``: status, masked text, spans (values only with
    ``include_source``), flags, with a vault (``vault_id``) the ``tokens`` issued for it and
    the ``vault`` they belong to, and ``key`` (a keyed hash: see ``_outfile``)."""
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
    )
    if vault_id is not None:
        record["tokens"] = list(result.tokens)
        record["vault"] = vault_id
    record["key"] = key
    if include_source:
        record["source_text"] = row.text if isinstance(row.text, str) else None
    return record


def result_of_record(record: dict[str, Any], text: str) -> MaskResult | None:
    """The result a written line holds for ``text``; None for a failed or unreadable line."""
    try:
        status = MaskStatus(record.get("status"))
        if status is MaskStatus.FAILED:
            return None
        return MaskResult(
            text,
            record.get("masked_text"),
            status,
            _spans_of_record(record.get("spans"), text),
            record.get("finish_reason"),
            record.get("error"),
            safety_net_spans=_spans_of_record(record.get("safety_net_spans"), text),
            faithful=bool(record.get("faithful", True)),
            chatter=bool(record.get("chatter", False)),
            tokens=tuple(str(t) for t in record.get("tokens") or ()),
        )
    except (ValueError, KeyError, TypeError):
        return None


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
