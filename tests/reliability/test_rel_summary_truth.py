"""The end-of-run summary says how many rows were masked, not how many got an answer.

A run whose rows all came back blocked said "4 rows masked" above "no row was masked"
(exit 4); the first test failed before.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, patch_cli, write_jsonl

from pii_gemini import BackendError
from pii_gemini.cli import main
from pii_gemini.masking import MaskSummary
from pii_gemini.vault import Vault


def test_the_summary_of_a_run_that_masked_nothing_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    patch_cli(monkeypatch, lambda: ScriptedBackend(block=lambda prompt: True))
    src = write_jsonl(
        tmp_path / "in.jsonl", [{"source_text": f"Mail u{i}@x.org"} for i in range(4)]
    )
    assert main(["mask", str(src), str(tmp_path / "out.jsonl"), "--model", MODEL, "-q"]) == 4
    out = capsys.readouterr().out
    assert "0 of 4 rows masked" in out and "4 rows masked" not in out.replace("0 of 4 ", "")


@pytest.mark.parametrize(
    ("counts", "says"),
    [
        ({"done": 5, "ok": 5}, "5 rows masked"),
        ({"done": 5, "ok": 3, "failed": 1, "blocked": 1}, "3 of 5 rows masked"),
        (
            {"total": 7, "done": 0, "ok": 0, "skipped_resumed": 7, "resumed_ok": 7},
            "7 rows masked (this run: 0 of 0; resumed: 7)",
        ),
        (
            {"total": 2, "done": 1, "ok": 0, "failed": 1, "skipped_resumed": 1, "resumed_ok": 1},
            "1 of 2 rows masked (this run: 0 of 1; resumed: 1)",
        ),
    ],
)
def test_the_summary_counts_masked_rows(counts: dict[str, int], says: str) -> None:
    assert str(MaskSummary(**counts)).startswith(says + " in ")  # type: ignore[arg-type]


def test_a_resumed_run_counts_the_rows_of_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trial's resume said "0 of 1 rows masked" when 1 of the output's 2 rows was."""
    fault = BackendError("internal", code=500, status="INTERNAL")
    patch_cli(monkeypatch, lambda: ScriptedBackend(fault=lambda p, n: fault if "Bo" in p else None))
    src = write_jsonl(tmp_path / "in.jsonl", [{"source_text": "Hi Alice"}, {"source_text": "Bo"}])
    args = ["mask", str(src), str(tmp_path / "out.jsonl"), "--model", MODEL, "-q"]
    assert main(args) == 4
    assert "1 of 2 rows masked in " in capsys.readouterr().out
    assert main(args) == 4  # the failed row is redone, and fails again
    out = capsys.readouterr().out
    assert "1 of 2 rows masked (this run: 0 of 1; resumed: 1) in " in out, out


def test_an_empty_input_writes_an_empty_vault_as_it_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trial's empty input printed `vault: v/e.json (holds ...)` but wrote no vault."""
    patch_cli(monkeypatch)
    (tmp_path / "v").mkdir()
    src, vault = write_jsonl(tmp_path / "e.jsonl", []), tmp_path / "v" / "e.json"
    args = ["mask", str(src), str(tmp_path / "out.jsonl"), "--model", MODEL, "-q"]
    assert main([*args, "--operator", "numbered", "--vault", str(vault)]) == 0
    assert f"vault: {vault}" in capsys.readouterr().out
    assert len(Vault.load(vault)) == 0 and Vault.load(vault).id is not None
    assert stat.S_IMODE(vault.stat().st_mode) == 0o600
