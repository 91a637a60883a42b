"""Item 14 of issue 13: `pii-gemini mask --model models/...` (a base model, for a baseline)
works as docs/cli.md says, on every backend (with a base model the backend serves today)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _rel_support import read_jsonl, write_jsonl

from pii_gemini.cli import main
from pii_gemini.testing import fake_backend


@pytest.mark.parametrize(
    ("backend", "model"),
    [("gemini", "models/gemini-2.5-flash-lite"), ("vertex", "gemini-2.5-flash-lite"),
     ("fake", "models/gemini-1.5-flash-001")],
)  # fmt: skip
def test_mask_accepts_a_base_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str, model: str
) -> None:
    monkeypatch.setenv("PII_GEMINI_FAKE_STATE", str(tmp_path / "fake.pkl"))
    src = write_jsonl(tmp_path / "in.jsonl", [{"source_text": "Mail bob@example.org"}])
    out = tmp_path / "out.jsonl"
    with fake_backend():
        rc = main(["--backend", backend, "mask", str(src), str(out),
                   "--model", model, "-q"])  # fmt: skip
    assert rc == 0
    assert [r["status"] for r in read_jsonl(out)] == ["ok"]
