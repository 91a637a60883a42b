"""Item 18 of issue 13: clear library errors (or row statuses) instead of bare Python
exceptions for Latin-1 input, a malformed JSONL line and a plot into a missing folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, read_jsonl

from pii_gemini import FakeBackend, PiiGeminiError, Tuner
from pii_gemini.cli import main
from pii_gemini.masking import Masker
from pii_gemini.synthetic import generate_rows


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_latin1_rows_get_a_clear_row_status(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / f"in{suffix}"
    if suffix == ".jsonl":
        src.write_bytes('{"source_text": "Hi Alice"}\n{"source_text": "Jos\xe9 Alice"}\n'
                        .encode("latin-1"))  # fmt: skip
    else:
        src.write_bytes("source_text\nHi Alice\nJos\xe9 Alice\n".encode("latin-1"))
    out = tmp_path / "out.jsonl"
    summary = Masker(ScriptedBackend(), MODEL).mask_file(src, out, progress=False)
    records = read_jsonl(out)
    assert [r["status"] for r in records] == ["ok", "failed"]
    assert "UTF-8" in records[1]["error"]
    assert summary.failed == 1 and "UTF-8" in str(summary)


def test_prepare_skip_names_the_malformed_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    rows = [json.dumps(r) for r in generate_rows(6, seed=0).to_dict("records")]
    rows.insert(3, '{"source_text": "broken')
    src = tmp_path / "rows.jsonl"
    src.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = str(tmp_path / "p")
    rc = main(["prepare", str(src), "--errors", "skip", "--test-size", "2", "--out", out])
    assert rc == 0  # the line is skipped and counted, as --errors skip says
    assert "skipped 1 row (line is not a JSON object: 1)" in capsys.readouterr().out
    assert (tmp_path / "p" / "train.jsonl").exists()
    rc = main(["prepare", str(src), "--test-size", "2", "--out", out])
    assert rc == 3 and "line 4 is not a JSON object" in capsys.readouterr().err


def test_plot_loss_into_a_missing_folder_is_a_library_error_or_works(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from pii_gemini.dataset import PromptBuilder, load_pii_dataset

    data = load_pii_dataset(generate_rows(20, seed=0))
    prompts = PromptBuilder().build(data)
    job = Tuner(FakeBackend(), poll_interval=0).tune(prompts, epoch_count=1, batch_size=4)
    job.wait()
    target = tmp_path / "nodir" / "x.png"
    try:
        job.plot_loss(target)
    except PiiGeminiError as exc:
        assert "nodir" in str(exc)
    else:
        assert target.exists()


def test_a_malformed_jsonl_line_of_mask_input_is_a_row_status_naming_its_line(
    tmp_path: Path,
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"source_text": "Hi Alice"}\n{"source_text": "bro\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    Masker(ScriptedBackend(), MODEL).mask_file(src, out, progress=False)
    records = read_jsonl(out)
    assert records[1]["status"] == "failed" and "line 2" in records[1]["error"]
