"""MaskResult's spans agree with its masked text when the safety net widens a model span."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest
from _masking_support import ScriptedBackend

from pii_gemini._retry import RetryPolicy
from pii_gemini._types import MaskResult, Span
from pii_gemini.distributed import MASK_COLUMNS
from pii_gemini.masking import Masker
from pii_gemini.operators import anonymize
from pii_gemini.vault import Vault

CARD = "4111 1111 1111 1111"  # Visa test number: valid Luhn, so the safety net finds it
TEXT = f"Pay 12 EUR by card {CARD} now."
AT = TEXT.index(CARD)


def _masker(answer: Callable[[str], str], **kwargs: object) -> Masker:
    no_wait = RetryPolicy(attempts=1, initial_delay=0, max_delay=0, jitter=0)
    return Masker(
        ScriptedBackend(answer=answer), "tunedModels/x", retry=no_wait, sleep=lambda s: None,
        **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def _shown(result: MaskResult) -> str:
    """The text the result's spans say was masked, rendered with the default operator."""
    return anonymize(result.text, result.spans + result.safety_net_spans).text


def _overlap(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


@pytest.mark.parametrize(
    ("model_answer", "label"),
    [
        # the model calls half of the card an AMOUNT: the net's longer CREDITCARDNUMBER wins
        (lambda t: t.replace("4111 1111", "[AMOUNT]", 1), "CREDITCARDNUMBER"),
        # the model's span is the longer one ("card 4111 1111 1111"): its label is shown
        (lambda t: t.replace("card 4111 1111 1111", "[NOTE]", 1), "NOTE"),
    ],
)
def test_spans_say_what_masked_text_shows(model_answer: Callable[[str], str], label: str) -> None:
    result = _masker(model_answer).mask(TEXT)
    assert result.masked_text == TEXT[: TEXT.index("card") if label == "NOTE" else AT] + (
        f"[{label}] now."
    )
    assert _shown(result) == result.masked_text
    assert [s.label for s in result.safety_net_spans] == [label]  # the net widened it
    assert not any(_overlap(m, n) for m in result.spans for n in result.safety_net_spans)
    net = result.safety_net_spans[0]
    assert TEXT[net.start : net.end] == net.value and net.end == AT + len(CARD)


def test_spans_match_with_a_reversible_operator_too() -> None:
    result = _masker(lambda t: t.replace("4111 1111", "[AMOUNT]", 1), operator="numbered",
                     vault=Vault()).mask(TEXT)  # fmt: skip
    assert result.masked_text == "Pay 12 EUR by card [CREDITCARDNUMBER_1] now."
    assert result.spans == ()
    assert [(s.start, s.end, s.label) for s in result.safety_net_spans] == [
        (AT, AT + len(CARD), "CREDITCARDNUMBER")
    ]


def test_mask_dataframe_has_the_safety_net_spans_column() -> None:
    df = pd.DataFrame({"source_text": [TEXT, "Nothing to see."]})
    out = _masker(lambda t: t.replace("4111 1111", "[AMOUNT]", 1)).mask_dataframe(df)
    assert list(out.columns) == ["source_text", *MASK_COLUMNS]
    assert MASK_COLUMNS[-1] == "safety_net_spans"
    first = out["safety_net_spans"].iloc[0]
    assert first == [{"value": CARD, "start": AT, "end": AT + len(CARD),
                      "label": "CREDITCARDNUMBER"}]  # fmt: skip
    assert out["spans"].iloc[0] == first  # spans: every masked span (the model's and the net's)
    assert out["safety_net_spans"].iloc[1] == []
