"""Metrics for PII masking: exact match, span recovery and an honest evaluation report.

Exact match alone says little (prompted LLMs almost never reproduce the reference byte for
byte). :func:`evaluate` cleans each answer, recovers its spans, and reports span precision /
recall / F1 / F2 (strict and lenient), PII leakage (verbatim and normalised), preservation of
the non-PII text, chatter, refusals, invented labels and kept values::

    report = metrics.evaluate(df.source_text, predictions, gold_spans=df.privacy_mask)
    print(report.to_markdown())
    report.plot_recall("recall.png")
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import pandas as pd

from . import _evaluate, _hygiene
from ._align import Alignment
from ._align import align as _align_public
from ._evaluate import as_texts, same_length
from ._exceptions import ConfigError
from ._hygiene import CleanedOutput, FaithfulnessReport, texts_required
from ._report import EvaluationReport, SpanScores
from ._types import MaskResult, Span

__all__ = [
    "Alignment",
    "CleanedOutput",
    "EvaluationReport",
    "FaithfulnessReport",
    "SpanScores",
    "align",
    "align_detailed",
    "check_faithfulness",
    "clean_output",
    "compare",
    "evaluate",
    "evaluate_results",
    "exact_match",
    "invented_labels",
    "kept_values",
    "normalize_placeholders",
    "repair",
]


def align(source: str, masked: str, *, labels: Collection[str] | None = None) -> list[Span]:
    """The spans of ``source`` hidden by the placeholders of ``masked`` (see align_detailed)."""
    texts_required("align", source=source, masked=masked)
    return list(_align_public(source, masked, labels=labels).spans)


def align_detailed(source: str, masked: str, *, labels: Collection[str] | None = None) -> Alignment:
    """Spans plus whether they are ambiguous, whether ``masked`` is faithful, and issues.

    Placeholders are ``[LABEL]`` or ``[LABEL_N]``; adjacent placeholders are split by value
    shape when that is certain and flagged ``ambiguous`` otherwise; text the model rewrote is
    reported in ``changes`` and makes ``faithful`` False; a placeholder that spells out its
    value (``[WF75HYD]``) gives no span (issue ``placeholder_reveals_value``).
    """
    texts_required("align_detailed", source=source, masked=masked)
    return _align_public(source, masked, labels=labels)


def clean_output(raw: str, source: str | None = None) -> CleanedOutput:
    """Extract the masked text from a raw model answer (see ``_hygiene.clean_output``).

    Removes code fences, preambles, an "Output:" echo and trailing notes or bullet lists; a
    refusal gives an empty text with ``refused=True``. With ``source``, the part of the
    answer that fits the source is the masked text and everything around it is removed.
    """
    texts_required("clean_output", raw=raw, source="" if source is None else source)
    return _hygiene.clean_output(raw, source)


def normalize_placeholders(text: str, source: str | None = None) -> str:
    """Rewrite model-style placeholders (``[PHONE NUMBER]``) into ``[LABEL]`` form; bracketed
    tokens that ``source`` holds are text and stay (see ``_hygiene.normalize_placeholders``)."""
    texts_required("normalize_placeholders", text=text, source="" if source is None else source)
    return _hygiene.normalize_placeholders(text, source)


def invented_labels(masked: str, labels: Collection[str]) -> list[str]:
    """Labels of the placeholders in ``masked`` that are not in ``labels``, in order."""
    texts_required("invented_labels", masked=masked)
    if isinstance(labels, str) or not isinstance(labels, Collection):
        raise ConfigError("invented_labels: labels must be a collection of label names")
    return _hygiene.invented_labels(masked, labels)


def kept_values(source: str, masked: str) -> list[Span]:
    """Source spans of values kept right after a tag inserted for them ("[IMEI] : 06-...")."""
    texts_required("kept_values", source=source, masked=masked)
    return _hygiene.kept_values(source, masked)


def check_faithfulness(
    source: str, masked: str, *, labels: Collection[str] | None = None
) -> FaithfulnessReport:
    """Check that ``masked`` equals ``source`` outside its placeholders."""
    texts_required("check_faithfulness", source=source, masked=masked)
    return _hygiene.check_faithfulness(source, masked, labels=labels)


def repair(source: str, masked: str, *, labels: Collection[str] | None = None) -> str:
    """Re-apply the spans recovered from ``masked`` to ``source`` (non-PII text is the
    source's; a placeholder that cannot be anchored is dropped)."""
    texts_required("repair", source=source, masked=masked)
    return _hygiene.repair(source, masked, labels=labels)


def exact_match(predictions: Iterable[Any], references: Iterable[Any]) -> float:
    """Share of predictions equal to their reference (surrounding whitespace ignored)."""
    preds = as_texts(predictions, "predictions")
    refs = as_texts(references, "references")
    n = same_length(predictions=preds, references=refs)
    if n == 0:
        raise ConfigError("exact_match needs at least one row")
    return sum(p.strip() == r.strip() for p, r in zip(preds, refs, strict=True)) / n


def evaluate(
    sources: Iterable[Any],
    predictions: Iterable[Any],
    *,
    references: Iterable[Any] | None = None,
    gold_spans: Iterable[Any] | None = None,
    labels: Collection[str] | None = None,
    clean: bool = True,
    safety_net_spans: Iterable[Any] | None = None,
    languages: Iterable[Any] | None = None,
    model: str | None = None,
) -> EvaluationReport:
    """Evaluate masked ``predictions`` of ``sources`` against the gold PII.

    Gold spans come from ``gold_spans`` (one ``privacy_mask`` per row: a list of
    ``{"value", "start", "end", "label"}`` dicts or Spans) when given, else from aligning
    ``references`` (the gold masked texts) to the sources. ``labels`` is the label set used to
    count invented labels (default: every ai4privacy label). With ``clean`` each answer first
    goes through chatter removal and placeholder normalisation. A missing prediction (None,
    NA or NaN: a row the model did not mask, as ``mask_dataframe`` writes it) is scored as
    its unmasked source text, its values leaked; an empty string is an empty answer.
    ``safety_net_spans`` (one sequence of Spans or ``{start, end, label}`` dicts per row,
    ``MaskResult.safety_net_spans``) adds ``safety_net_caught``: gold values a safety-net
    span covers that no span of the model covers (predictions may include the safety net's
    masking or not). ``languages`` (one ISO code per row, e.g. the dataset's ``language``
    column) adds the per-language table; ``model`` names what made the predictions (chart
    titles, the markdown heading).
    """
    options: dict[str, Any] = dict(locals())  # the keyword arguments, passed on as they are
    del options["sources"], options["predictions"]
    if not isinstance(clean, bool):
        raise ConfigError(f"clean must be True or False, got {type(clean).__name__}")
    if model is not None and not isinstance(model, str):
        raise ConfigError(f"model must be a str naming the model, got {type(model).__name__}")
    if labels is not None and (isinstance(labels, str) or not isinstance(labels, Collection)):
        raise ConfigError("labels must be a collection of label names")
    for name, value in (*options.items(), ("sources", sources), ("predictions", predictions)):
        if name in _PER_ROW and value is not None and not isinstance(value, Iterable):
            raise ConfigError(
                f"{name} must be a sequence (one item per row), not a {type(value).__name__}"
            )
    return _evaluate.evaluate(sources, predictions, **options)


_PER_ROW = frozenset(
    {"sources", "predictions", "references", "gold_spans", "safety_net_spans", "languages"}
)


def evaluate_results(
    results: Iterable[MaskResult],
    *,
    references: Iterable[Any] | None = None,
    gold_spans: Iterable[Any] | None = None,
    labels: Collection[str] | None = None,
    clean: bool = True,
) -> EvaluationReport:
    """:func:`evaluate` on a Masker's output: sources, masked texts and safety-net spans
    taken from the ``MaskResult`` list.

    A row the model did not mask (failed, blocked, empty or truncated: no masked text) is
    scored as its unmasked source text, so its values count as leaked and as not found:
    what reaches a reader of such a row is the source or nothing, never a masked text, and
    a failure must not make the scores look better.

    Spans are recovered from the masked texts, so use an operator that writes placeholders
    (``replace`` or ``numbered``) for results you want to score.
    """
    rows = list(results)
    for i, r in enumerate(rows):
        if not isinstance(r, MaskResult):
            raise ConfigError(f"results[{i}] is {type(r).__name__}, not a MaskResult")
    return evaluate(
        [r.text for r in rows],
        [r.masked_text if r.masked_text is not None else r.text for r in rows],
        references=references,
        gold_spans=gold_spans,
        labels=labels,
        clean=clean,
        safety_net_spans=[r.safety_net_spans for r in rows],
    )


def compare(
    sources: Iterable[Any],
    predictions: Iterable[Any],
    references: Iterable[Any],
    *,
    show_pii: bool = False,
) -> pd.DataFrame:
    """One row per input: exact match, chatter, faithfulness, span and leak counts.

    Text columns (source, prediction, reference) are included only with ``show_pii``.
    """
    out: pd.DataFrame = evaluate(sources, predictions, references=references).rows(
        show_pii=show_pii
    )
    return out
