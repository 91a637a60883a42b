"""Item 2 of issue 13: unmask fills only the tokens issued for that text; placeholders that
were already in a text (templated or forwarded mail) or belong to another row stay."""

from __future__ import annotations

from pathlib import Path

from _rel_support import MODEL, ScriptedBackend, read_jsonl, write_jsonl
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gemini.cli import main
from pii_gemini.masking import Masker
from pii_gemini.operators import anonymize
from pii_gemini.vault import Vault, unmask


def _masker(operator: str = "numbered") -> Masker:
    return Masker(ScriptedBackend(), MODEL, operator=operator, concurrency=1, safety_net=False)


def test_a_pre_existing_placeholder_is_not_filled_with_another_rows_value() -> None:
    masker = _masker()
    first, second = masker.mask_many(
        ["Mail bob@example.org today.", "Template: dear [EMAIL_1], also EMAIL_1, from x@y.org"]
    )
    assert first.masked_text == "Mail [EMAIL_1] today."
    assert first.tokens == ("[EMAIL_1]",)
    assert second.tokens and "[EMAIL_1]" not in second.tokens
    assert masker.unmask(second.masked_text, tokens=second.tokens) == second.text
    assert masker.unmask(first.masked_text, tokens=first.tokens) == first.text
    assert masker.last_summary is not None and masker.last_summary.foreign_placeholders == 2


def test_a_value_whose_token_is_already_in_the_text_gets_another_token() -> None:
    masker = _masker()
    masker.mask("Mail bob@example.org")  # bob -> [EMAIL_1]
    result = masker.mask("Forwarded: [EMAIL_1] wrote to bob@example.org")
    assert result.masked_text is not None and result.masked_text.count("[EMAIL_1]") == 1
    assert masker.unmask(result.masked_text, tokens=result.tokens) == result.text


def test_surrogates_of_another_row_are_not_restored() -> None:
    masker = _masker("surrogate")
    first = masker.mask("Mail bob@example.org")
    assert first.masked_text is not None
    fake = first.masked_text.split()[-1]  # bob's surrogate address
    second = masker.mask(f"Someone literally wrote {fake} here, and eve@example.org")
    restored = masker.unmask(second.masked_text or "", tokens=second.tokens)
    assert restored == second.text  # the literal surrogate of row 1 is left alone


def test_scoped_unmask_with_the_function_and_the_vault() -> None:
    vault = Vault()
    a = anonymize("Hi Ann", [_span(3, 6)], "numbered", vault=vault)
    b_text = "Reply to [FIRSTNAME_1] please, Eve"
    b = anonymize(b_text, [_span(31, 34)], "numbered", vault=vault)
    tokens_b = tuple(b.text[i.start : i.end] for i in b.items)
    assert unmask(b.text, vault, tokens=tokens_b) == b_text
    assert vault.unmask(a.text, tokens=("[FIRSTNAME_1]",)) == "Hi Ann"
    assert unmask(b.text, vault, tokens=()) == b.text  # nothing issued: nothing filled


def _span(start: int, end: int):  # type: ignore[no-untyped-def]
    from pii_gemini._types import Span

    return Span(start, end, "FIRSTNAME")


_PLACEHOLDERS = st.sampled_from(
    ["[EMAIL_1]", "EMAIL_2", "[email_3]", "[ EMAIL _ 1 ]", "[EMAIL_01]", "[FIRSTNAME_1]"]
)
_EMAILS = st.sampled_from(["bob@example.org", "ann@x.io", "eve@mail.net", "z@q.de"])
_WORDS = st.sampled_from(["hi", "re:", "see", "and", "Alice", "555-0100", "ok."])
_ROW = st.lists(st.one_of(_PLACEHOLDERS, _EMAILS, _WORDS), min_size=1, max_size=8).map(" ".join)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(_ROW, min_size=1, max_size=6), operator=st.sampled_from(["numbered", "surrogate"])
)
def test_unmask_of_mask_is_the_identity_with_placeholders_of_other_rows(
    rows: list[str], operator: str
) -> None:
    masker = _masker(operator)
    for result in masker.mask_many(rows):
        assert result.masked_text is not None
        assert masker.unmask(result.masked_text, tokens=result.tokens) == result.text


def test_cli_unmask_of_a_mask_output_is_scoped_per_row_and_counts_what_it_left(
    tmp_path: Path, monkeypatch: object, capsys: object
) -> None:
    import pytest

    mp: pytest.MonkeyPatch = monkeypatch  # type: ignore[assignment]
    mp.setenv("PII_GEMINI_FAKE_STATE", str(tmp_path / "fake.pkl"))
    texts = ["Mail bob@example.org today.", "Template: dear [EMAIL_1], from x@y.org"]
    src = write_jsonl(tmp_path / "in.jsonl", [{"source_text": t} for t in texts])
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    vault_path = secrets / "v.jsonl"
    masker = _masker()
    masker.mask_file(src, tmp_path / "out.jsonl", vault_path=vault_path, progress=False)
    records = read_jsonl(tmp_path / "out.jsonl")
    assert records[0]["tokens"] == ["[EMAIL_1]"]
    rc = main(["unmask", str(tmp_path / "out.jsonl"), str(tmp_path / "back.jsonl"),
               "--vault", str(vault_path)])  # fmt: skip
    assert rc == 0
    back = [r["masked_text"] for r in read_jsonl(tmp_path / "back.jsonl")]
    assert back == texts
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert "1 left" in out
