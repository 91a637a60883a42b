"""Tests for model-output hygiene (pii_gemini._hygiene). Fixtures are hand-written."""

from __future__ import annotations

import pytest
from _masking_support import ScriptedBackend, mask_known

from pii_gemini import Masker, metrics
from pii_gemini._exceptions import ConfigError
from pii_gemini._hygiene import (
    check_faithfulness,
    clean_output,
    invented_labels,
    kept_values,
    normalize_placeholders,
    repair,
)
from pii_gemini.labels import LABELS_200K

BODY = "Dear [FIRSTNAME], your order ships to [CITY] on [DATE]."


@pytest.mark.parametrize(
    "raw",
    [
        BODY,
        f"Here is the anonymized output:\n\n{BODY}",
        f"Here's the anonymized version:\n{BODY}",
        f"Sure! I'd be happy to help.\n\nHere is the masked text:\n\n{BODY}",
        f"I'd be happy to help! However, I must anonymize the PII. Here is the output:\n\n{BODY}",
        f"```\n{BODY}\n```",
        f"Here you go:\n```text\n{BODY}\n```\nLet me know if you need more.",
        f"Output: {BODY}",
        f"Here is the anonymized output: {BODY}",
        f"{BODY}\n\nNote: I replaced the personally identifiable information with labels.",
        f'{BODY}\n\n* "Ann" became "[FIRSTNAME]"\n* "Paris" became "[CITY]"',
        f"Here is the output:\n\n{BODY}\n\nI replaced the PII as follows:\n\n* Ann -> [FIRSTNAME]"
        "\n* Paris -> [CITY]\n\nLet me know if you need anything else!",
        f"Original input:\nDear Ann, your order ships to Paris.\n\nAnonymized output:\n{BODY}",
    ],
)
def test_clean_output_extracts_the_masked_text(raw: str) -> None:
    out = clean_output(raw)
    assert out.text == BODY
    assert out.had_chatter is (raw != BODY)
    assert not out.refused


def test_clean_output_reports_what_it_removed() -> None:
    out = clean_output(f"Sure! Here it is:\n\n{BODY}\n\nNote: labels replace the PII.")
    assert out.removed_prefix.startswith("Sure!")
    assert out.removed_suffix.startswith("Note:")
    assert "Ann" not in repr(out) and "FIRSTNAME" not in repr(out)  # text kept out of repr


def test_clean_output_keeps_content_paragraphs() -> None:
    text = "Case number 48156508:\n\nThe barking was reported at [TIME].\n\nBest regards,\n[NAME]"
    out = clean_output(text)
    assert out.text == text and not out.had_chatter


def test_clean_output_keeps_a_content_list() -> None:
    text = "Agenda:\n\n1. Meet [FIRSTNAME] at [TIME]\n2. Call [PHONENUMBER]"
    assert clean_output(text).text == text


def test_refusal_gives_empty_text() -> None:
    out = clean_output("I cannot provide personal information. Can I help you with something else?")
    assert out.refused and out.text == "" and out.had_chatter


def test_clean_output_empty_and_bad_type() -> None:
    assert clean_output("   ").text == ""
    with pytest.raises(ConfigError):  # the public entry point checks before compiled code
        metrics.clean_output(None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        metrics.clean_output("x", 3)  # type: ignore[arg-type]


def test_normalize_placeholders() -> None:
    src = "a [IP_ADDRESS] b [PHONE NUMBER] [$AMOUNT] [FIRSTNAME_1] [sic] [NAME] [1] [CREDIT-CARD]"
    assert normalize_placeholders(src) == (
        "a [IPADDRESS] b [PHONENUMBER] $[AMOUNT] [FIRSTNAME_1] [sic] [NAME] [1] [CREDITCARD]"
    )
    assert normalize_placeholders("no brackets") == "no brackets"


def test_invented_labels_in_order_with_duplicates() -> None:
    masked = "[NAME] met [FIRSTNAME] at [LOCATION] and [NAME]"
    assert invented_labels(masked, LABELS_200K) == ["NAME", "LOCATION", "NAME"]
    assert invented_labels("no tags [sic]", LABELS_200K) == []


def test_kept_values_detects_inserted_tag() -> None:
    src = "Device bearing IMEI: 06-184755-866851-3 and mail ann@example.org today."
    masked = "Device bearing [IMEI] : 06-184755-866851-3 and mail [EMAIL] ann@example.org today."
    kept = kept_values(src, masked)
    assert [(s.label, s.value) for s in kept] == [
        ("IMEI", "06-184755-866851-3"),
        ("EMAIL", "ann@example.org"),
    ]
    assert src[kept[0].start : kept[0].end] == "06-184755-866851-3"


@pytest.mark.parametrize(
    ("src", "masked"),
    [
        ("Device bearing 06-184755-866851-3 today.", "Device bearing [PHONEIMEI] today."),
        ("cost $100.00 now", "cost [CURRENCYSYMBOL]100.00 now"),  # partial mask, not a kept value
        ("we had 1000 Male visitors", "we had 1000 [GENDER] visitors"),  # value before the tag
        ("room 12 for Ann", "room 12 for [FIRSTNAME]"),
    ],
)
def test_kept_values_no_false_alarm(src: str, masked: str) -> None:
    assert kept_values(src, masked) == []


def test_check_faithfulness_and_repair() -> None:
    src = "Dear John Smith, your order of 5 items shipped. Thanks!"
    masked = "Dear [NAME], your order has shipped. Thanks!"
    rep = check_faithfulness(src, masked)
    assert not rep.faithful
    assert 0.0 < rep.preserved_rate < 1.0
    assert rep.changes and rep.n_changed_source_chars > 0
    assert rep.unanchored_placeholders == 0
    assert repair(src, masked) == "Dear [NAME], your order of 5 items shipped. Thanks!"


def test_faithful_output_scores_one() -> None:
    src = "Call Ann at 555-0101."
    rep = check_faithfulness(src, "Call [FIRSTNAME] at [PHONENUMBER].")
    assert rep.faithful and rep.preserved_rate == 1.0 and rep.changes == ()
    assert repair(src, "Call [FIRSTNAME] at [PHONENUMBER].") == "Call [FIRSTNAME] at [PHONENUMBER]."


def test_repair_drops_unanchored_placeholder_and_reports_it() -> None:
    src = "Dear Mr.Smith, pay now."
    masked = "Hi [PREFIX][LASTNAME], pay now please."
    assert check_faithfulness(src, masked).unanchored_placeholders == 2
    assert repair(src, masked) == src


def test_clean_output_with_source_keeps_a_faithful_answer() -> None:
    src = "Dear Ann, see you.\n\nNote: I replaced the booking for you."
    masked = "Dear [FIRSTNAME], see you.\n\nNote: I replaced the booking for you."
    assert clean_output(masked).text == "Dear [FIRSTNAME], see you."  # without source: cut
    out = clean_output(masked, src)
    assert out.text == masked and not out.had_chatter
    chatty = clean_output(f"Here is the output:\n\n{masked}", src)
    assert chatty.had_chatter


# -- issue 15: what real model answers exposed ------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "source", "expected"),
    [
        ('Hi [NAME].\n\n(Note: I replaced "Bob" with [NAME])', "Hi Bob.", "Hi [NAME]."),
        ("Hi [NAME].\n(I replaced Bob with [NAME].)", "Hi Bob.", "Hi [NAME]."),
        ("Okay.\nHi [NAME].\n\n* Bob -> [NAME]", "Hi Bob.", "Hi [NAME]."),
        ("My anonymisation of your text\n\nHi [NAME].", "Hi Bob.", "Hi [NAME]."),
        ("Hi [A] [B].\n\nBob Smith was replaced.", "Hi Bob Smith.", "Hi [A] [B]."),
    ],
)
def test_everything_outside_the_part_that_fits_is_removed(
    raw: str, source: str, expected: str
) -> None:
    """#4: a trailing note kept "Bob" in the masked text (had_chatter=False)."""
    out = clean_output(raw, source)
    assert out.text == expected and out.had_chatter
    assert (out.removed_prefix + out.removed_suffix).strip()
    for value in ("Bob", "Smith"):
        assert value not in out.text


def test_the_masker_output_keeps_no_value_from_a_trailing_note() -> None:
    """#4 through the Masker: masked_text is the part of the answer that fits the input."""
    note = '\n\n(Note: I replaced "{name}" with [FIRSTNAME], and kept the rest.)'
    texts = ["Hi Alice, see you.", "Dear Bruno and Chen, thanks."]

    def answer(text: str) -> str:
        names = [n for n in ("Alice", "Bruno", "Chen") if n in text]
        return mask_known(text) + note.format(name=" and ".join(names))

    masker = Masker(ScriptedBackend(answer=answer), "models/m", safety_net=False)
    for text, result in zip(texts, masker.mask_many(texts), strict=True):
        assert result.ok and result.faithful and result.chatter
        assert result.masked_text == mask_known(text)
        for name in ("Alice", "Bruno", "Chen"):
            assert name not in (result.masked_text or "")


@pytest.mark.parametrize(
    "raw",
    [
        "I cannot anonymize this text as it contains sensitive data.",
        "I cannot confirm the details of this account.",
        "I cannot create a masked version of a document about a real person.",
        "I cannot fill in patient information on a secure webpage. Can I help you with anything?",
        "I cannot review transactions of specific Bitcoin addresses. Is there something else I can "
        "help you with?",
        "I'm sorry, but I can't help with that request.",
        "I apologize, but I am unable to process personal data.",
    ],
)
def test_refusals_are_recognised(raw: str) -> None:
    """#5: "I cannot anonymize / confirm / create / fill in" were not recognised."""
    out = clean_output(raw, "Ann lives at 12 Elm Street.")
    assert out.refused and out.text == ""


@pytest.mark.parametrize(
    ("raw", "source"),
    [
        ("I cannot attend on [DATE], [FIRSTNAME].", "I cannot attend on May 2, Ann."),
        ("I cannot log in to my account.", "I cannot log in to my account."),
    ],
)
def test_a_text_that_starts_like_a_refusal_is_not_one(raw: str, source: str) -> None:
    assert not clean_output(raw, source).refused
