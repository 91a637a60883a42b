"""Item 8 of issue 13: surrogates cannot run out (short values such as a lone "$" or small
ages), and a per-row problem in the operators is that row's status, never fatal."""

from __future__ import annotations

import re
from pathlib import Path

from _rel_support import MODEL, ScriptedBackend, read_jsonl, write_jsonl

from pii_gemini._types import Span
from pii_gemini.masking import Masker
from pii_gemini.operators import Operator, OperatorContext, anonymize
from pii_gemini.vault import Vault

_AGE = re.compile(r"\b\d{1,2}\b|\$")


def _age_answer(text: str) -> str:
    return _AGE.sub(lambda m: "[CURRENCYSYMBOL]" if m.group() == "$" else "[AGE]", text)


def test_two_thousand_rows_of_short_values_all_get_surrogates(tmp_path: Path) -> None:
    rows = [{"id": i, "source_text": f"Paid $ {i % 100} at {(i * 7) % 90} years"}
            for i in range(2000)]  # fmt: skip
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    masker = Masker(ScriptedBackend(answer=_age_answer), MODEL, operator="surrogate",
                    operator_params={"seed": 1}, safety_net=False, concurrency=4)  # fmt: skip
    summary = masker.mask_file(src, tmp_path / "out.jsonl", vault_path=secrets / "v.jsonl",
                               id_column="id", progress=False)  # fmt: skip
    assert summary.ok == 2000 and summary.failed == 0
    for row, record in zip(rows, read_jsonl(tmp_path / "out.jsonl"), strict=True):
        restored = masker.unmask(record["masked_text"], tokens=record["tokens"])
        assert restored == row["source_text"]


def test_the_vault_finds_a_surrogate_even_when_the_operator_keeps_colliding() -> None:
    vault = Vault()
    for value in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10"):
        out = anonymize(value, [Span(0, len(value), "AGE")], "surrogate", vault=vault, seed=0)
        assert out.text != value
    assert len({e.token for e in vault}) == 10


def test_the_surrogate_of_a_lone_dollar_is_not_the_dollar() -> None:
    out = anonymize("$", [Span(0, 1, "CURRENCYSYMBOL")], "surrogate", seed=3)
    assert out.text and out.text != "$"
    assert out.vault is not None and out.vault.unmask(out.text) == "$"


class _Exploding(Operator):
    name = "exploding"

    def apply(self, value: str, label: str, ctx: OperatorContext) -> str:
        if value == "Bruno":
            raise RuntimeError("this operator cannot handle Bruno")
        return f"<{label}>"


def test_an_operator_error_fails_that_row_only(tmp_path: Path) -> None:
    texts = ["Hi Alice", "Hi Bruno", "Hi Chen"]
    src = write_jsonl(tmp_path / "in.jsonl", [{"source_text": t} for t in texts])
    masker = Masker(ScriptedBackend(), MODEL, operator=_Exploding(), safety_net=False)
    summary = masker.mask_file(src, tmp_path / "out.jsonl", progress=False)
    records = read_jsonl(tmp_path / "out.jsonl")
    assert [r["status"] for r in records] == ["ok", "failed", "ok"]
    assert "Bruno" not in (records[1]["error"] or "")
    assert summary.failed == 1
