"""Every public evaluation entry point raises only PiiGeminiError subclasses (issue 13 #13).

Explicit repros of what fuzzing found, then hypothesis over metrics.*, the aligner, the output
hygiene, the Presidio conversions and the interop exporters, with texts that hold lone
surrogates, brackets, placeholder-like tokens and long runs of adjacent placeholders.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pii_gemini import (
    MaskResult,
    MaskStatus,
    PiiGeminiError,
    Span,
    from_presidio,
    metrics,
    to_presidio,
)
from pii_gemini._iob import to_iob2, tokenize
from pii_gemini.labels import ALL_LABELS


def test_a_lone_surrogate_is_scored_not_a_crash() -> None:
    """A cut emoji ("\\ud83d") made the per-row frame raise UnicodeEncodeError (pyarrow)."""
    src = "\ud83d Ann wrote"
    gold = [[{"start": 2, "end": 5, "label": "FIRSTNAME"}]]
    report = metrics.evaluate([src], ["\ud83d [FIRSTNAME] wrote"], gold_spans=gold)
    assert report.strict.recall == 1.0
    assert report.rows(show_pii=True).loc[0, "source"] == src


def test_a_thousand_adjacent_placeholders_do_not_exhaust_the_stack() -> None:
    """~1,100 adjacent placeholders raised RecursionError in the shape enumeration."""
    n = 1500
    for source, masked in (("x" * 3 * n, "[A]" * n), ("1 2" * n, "[A][B]" * n)):
        a = metrics.align_detailed(source, masked)
        assert a.faithful and len(a.spans) == n * masked.count("[") // n
        assert a.ambiguous


# -- hypothesis over every public evaluation entry point --------------------------------------

_PIECES = st.sampled_from(
    ["[FIRSTNAME]", "[NAME_1]", "[A]", "[AGE]", "[GENDER]", "[WF75HYD]", "[IP ADDRESS]",
     "[$AMOUNT]", "[sic]", "[", "]", "[[", "]]", " ", "\n", "\n\n", "Note: ", "Here is the output:",
     "I cannot ", "Ann", "25 years old", "Male", "\ud83d", "\udc00", "é", "–", "```", "0", "@",
     "x" * 5]
)  # fmt: skip
TEXT = st.one_of(
    st.text(st.characters(codec=None), max_size=40),  # any code point, lone surrogates included
    st.lists(_PIECES, max_size=25).map("".join),
    st.integers(1, 1200).map(lambda n: "[A]" * n),  # long runs of adjacent placeholders
)
NOT_TEXT = st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=4), st.lists(
    st.integers(), max_size=2))  # fmt: skip
ANY = st.one_of(TEXT, NOT_TEXT)
SPAN_DICT = st.fixed_dictionaries(
    {"start": st.one_of(st.integers(-2, 60), NOT_TEXT), "end": st.one_of(st.integers(-2, 60), TEXT),
     "label": st.one_of(st.sampled_from(["FIRSTNAME", "AGE", ""]), NOT_TEXT)}
)  # fmt: skip
GOLD = st.one_of(st.lists(SPAN_DICT, max_size=4), TEXT, NOT_TEXT)
# bounded for CI; PII_GEMINI_FUZZ_EXAMPLES=2000 for a deeper local run
FUZZ = settings(
    max_examples=int(os.environ.get("PII_GEMINI_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _only_library_errors(call: Callable[[], object]) -> None:
    """Run ``call``: it may return or raise a PiiGeminiError, nothing else."""
    with contextlib.suppress(PiiGeminiError):
        call()


@FUZZ
@given(source=ANY, masked=ANY)
def test_alignment_and_hygiene_raise_only_library_errors(source: Any, masked: Any) -> None:
    for fn in (metrics.align, metrics.align_detailed, metrics.check_faithfulness, metrics.repair,
               metrics.kept_values, metrics.clean_output):  # fmt: skip
        _only_library_errors(lambda fn=fn: fn(source, masked))
    for one in (metrics.normalize_placeholders, metrics.clean_output):
        _only_library_errors(lambda one=one: one(masked))
    _only_library_errors(lambda: metrics.invented_labels(masked, ALL_LABELS))
    _only_library_errors(lambda: metrics.exact_match([masked], [source]))
    _only_library_errors(lambda: to_iob2(source, []))
    _only_library_errors(lambda: tokenize(source))


@FUZZ
@given(
    sources=st.lists(ANY, min_size=1, max_size=3),
    preds=st.lists(ANY, min_size=1, max_size=3),
    gold=st.lists(GOLD, min_size=1, max_size=3),
    langs=st.one_of(st.none(), st.lists(ANY, min_size=1, max_size=3)),
)
def test_evaluate_and_its_views_raise_only_library_errors(
    sources: list[Any], preds: list[Any], gold: list[Any], langs: list[Any] | None
) -> None:
    n = min(len(sources), len(preds), len(gold))
    for kwargs in ({"gold_spans": gold[:n]}, {"references": preds[:n]}):
        try:
            report = metrics.evaluate(sources[:n], preds[:n], languages=langs, **kwargs)
        except PiiGeminiError:
            continue
        report.summary()
        report.to_markdown()
        report.iob2()
        report.iob2_scores()
        report.ner_schemes()
        report.ner_schemes(unit="char", by_label=True)
        report.worst_rows(2, show_pii=True)


@FUZZ
@given(
    text=ANY,
    results=st.lists(
        st.one_of(SPAN_DICT.map(lambda d: {**d, "entity_type": d["label"]}), NOT_TEXT), max_size=3
    ),
    score=ANY,
)
def test_presidio_conversions_raise_only_library_errors(
    text: Any, results: Any, score: Any
) -> None:
    _only_library_errors(lambda: from_presidio(results, text, min_score=score))
    _only_library_errors(lambda: to_presidio([Span(0, 1, "AGE")], score=score))
    _only_library_errors(lambda: to_presidio(results))


@FUZZ
@given(results=st.lists(st.one_of(st.none(), st.integers(), st.builds(
    MaskResult, text=TEXT, masked_text=st.one_of(st.none(), TEXT), status=st.sampled_from(
        list(MaskStatus)))), max_size=3))  # fmt: skip
def test_evaluate_results_raises_only_library_errors(results: list[Any]) -> None:
    _only_library_errors(lambda: metrics.evaluate_results(results, references=["x"] * len(results)))
    _only_library_errors(
        lambda: metrics.compare([r for r in results if isinstance(r, str)], ["a"], ["a"])
    )
