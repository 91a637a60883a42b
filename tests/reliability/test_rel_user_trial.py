"""Defects a new-user trial of ``pii-gemini mask``/``unmask`` found (phase 3), one test each.

Each test failed before its fix; they drive the CLI (``cli.main``) or the library the way
the trial did: the fake backend, or the real SDKs pointed at the emulator.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, fast_retry, patch_cli, read_jsonl, write_jsonl

from pii_gemini import DatasetError, Masker, PermissionDeniedError, TransientBackendError
from pii_gemini.backends._gemini_errors import translate_gemini_exception
from pii_gemini.backends._vertex_errors import translate_vertex_exception
from pii_gemini.cli import main
from pii_gemini.testing import fake_backend

BASE = "models/gemini-2.5-flash-lite"
TUNED = "tunedModels/ticket-masker-abc123"
_KEY_INVALID = {
    "code": 400,
    "message": "API key not valid. Please pass a valid API key.",
    "status": "INVALID_ARGUMENT",
    "details": [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"},
        }
    ],
}


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private fake state file; returns the folder to write inputs in."""
    monkeypatch.setenv("PII_GEMINI_FAKE_STATE", str(tmp_path / "fake.pkl"))
    monkeypatch.setenv("PII_GEMINI_FAKE_SPEED", "0")
    monkeypatch.delenv("PII_GEMINI_BACKEND", raising=False)
    return tmp_path


def _rows(n: int) -> list[dict[str, str]]:
    return [{"source_text": f"Mail bob{i}@example.org today"} for i in range(n)]


# -- 1. a wrong API key stops the run at once ---------------------------------------------


def test_wrong_api_key_stops_mask_before_any_row(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_jsonl(cli_env / "in.jsonl", _rows(30))
    out = cli_env / "out.jsonl"
    with fake_backend() as emu:
        monkeypatch.setenv("GEMINI_API_KEY", "wrong-key-0123456789")  # read first
        # A tuned model is looked up before any row is sent, and the lookup finds the key
        # wrong (it was taken for "not a tuned model" and up to --concurrency rows went).
        rc_tuned = main(["--backend", "gemini", "mask", str(src), str(out), "--model", TUNED])
        sent_tuned = emu.requests_to(":generateContent")
        rc = main(["--backend", "gemini", "mask", str(src), str(out), "--model", BASE, "-q"])
        sent = emu.requests_to(":generateContent")
    err = capsys.readouterr().err
    assert rc_tuned == 1 and sent_tuned == []
    assert rc == 1 and len(sent) <= 8  # a base model is not looked up: the rows in flight
    assert not out.exists() or not read_jsonl(out)  # no row written as failed
    assert err.count("\n") == 2 and err.count("PermissionDeniedError") == 2
    assert "API_KEY_INVALID" in err and "GEMINI_API_KEY" in err
    assert "wrong-key-0123456789" not in err


def test_wrong_api_key_is_fatal_for_the_library(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", _rows(20))
    with fake_backend() as emu, emu.gemini_backend(api_key="wrong-key") as backend:
        masker = Masker(backend, BASE, concurrency=2)
        with pytest.raises(PermissionDeniedError, match="GOOGLE_API_KEY"):
            masker.mask_file(src, tmp_path / "out.jsonl", progress=False)
        assert len(emu.requests_to(":generateContent")) <= 2  # the ones in flight, no more


def test_wrong_api_key_stops_masker_for_model_before_any_row(tmp_path: Path) -> None:
    with fake_backend() as emu, emu.gemini_backend(api_key="wrong-key") as backend:
        with pytest.raises(PermissionDeniedError, match="GOOGLE_API_KEY"):
            Masker.for_model(backend, TUNED, retry=fast_retry())
        assert emu.requests_to(":generateContent") == []


def test_api_key_invalid_is_a_permission_error_in_both_sdk_paths() -> None:
    from google.api_core import exceptions as gexc
    from google.genai import errors as genai_errors

    vertex = translate_vertex_exception(genai_errors.ClientError(400, {"error": _KEY_INVALID}), "x")
    gemini = translate_gemini_exception(
        gexc.BadRequest("API key not valid.", details=_KEY_INVALID["details"]), "x"
    )
    for mapped in (vertex, gemini):
        assert isinstance(mapped, PermissionDeniedError), mapped
        assert (mapped.code, mapped.status) == (400, "INVALID_ARGUMENT")
        assert "GOOGLE_API_KEY" in str(mapped) and "not valid" not in str(mapped)


# -- 2. failure reasons grouped by kind, advice that fits them -----------------------------


def _bad_lines_file(path: Path, n_bad: int, n_good: int) -> Path:
    """``n_good`` valid rows, then ``n_bad`` lines that are not JSON (each its own line no.)."""
    lines = [f'{{"source_text": "Mail bob{i}@example.org"}}' for i in range(n_good)]
    lines += [f"not json {i}" for i in range(n_bad)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_failure_reasons_are_grouped_by_kind_with_a_first_row(tmp_path: Path) -> None:
    src = _bad_lines_file(tmp_path / "in.jsonl", 1000, 5)

    def fault(text: str, attempt: int) -> TransientBackendError | None:
        return TransientBackendError("unavailable", code=503) if "bob3@" in text else None

    masker = Masker(ScriptedBackend(fault=fault), MODEL, retry=fast_retry(1))
    summary = masker.mask_file(src, tmp_path / "out.jsonl", progress=False)
    assert summary.failed == 1001
    assert dict(summary.failure_reasons) == {
        "input line N is not valid JSON": 1000,
        "TransientBackendError(503)": 1,
    }
    assert dict(summary.failure_first_rows) == {
        "input line N is not valid JSON": 5,
        "TransientBackendError(503)": 3,
    }
    assert summary.input_failures == 1000
    text = summary.describe_failures()
    assert len(text) < 200, text
    assert "1000 input line N is not valid JSON (first: row 5)" in text


def test_mask_advises_fixing_the_input_not_a_rerun(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    patch_cli(monkeypatch)
    src = _bad_lines_file(cli_env / "in.jsonl", 50, 2)
    rc = main(["mask", str(src), str(cli_env / "out.jsonl"), "--model", MODEL, "-q"])
    captured = capsys.readouterr()
    assert rc == 4
    assert "run the same command again" not in captured.err
    assert "fix" in captured.err and "--no-resume" in captured.err
    assert len(captured.out) + len(captured.err) < 1500


# -- 3. unmask never overwrites a file unless --force --------------------------------------


def test_unmask_refuses_an_existing_output_unless_forced(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pii_gemini.vault import Vault, VaultEntry

    vault = cli_env / "keys" / "v.json"
    vault.parent.mkdir()
    Vault([VaultEntry("[FIRSTNAME_1]", "Ann", "FIRSTNAME", "placeholder")]).save(vault)
    src, out = cli_env / "in.txt", cli_env / "report.txt"
    src.write_text("Hi [FIRSTNAME_1].", encoding="utf-8")
    out.write_text("my precious notes", encoding="utf-8")
    argv = ["unmask", str(src), str(out), "--vault", str(vault), "-q"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "DatasetError" in err and "report.txt" in err and "--force" in err
    assert out.read_text(encoding="utf-8") == "my precious notes"
    assert main([*argv, "--force"]) == 0
    assert out.read_text(encoding="utf-8") == "Hi Ann."


# -- 5. a run that masked nothing is not a success -----------------------------------------


def test_mask_exits_4_when_no_row_was_masked(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocking = [True]
    patch_cli(monkeypatch, lambda: ScriptedBackend(block=lambda prompt: blocking[0]))
    src = write_jsonl(cli_env / "in.jsonl", _rows(4))
    out = cli_env / "out.jsonl"
    assert main(["mask", str(src), str(out), "--model", MODEL, "-q"]) == 4
    assert "no row was masked" in capsys.readouterr().err
    assert {r["status"] for r in read_jsonl(out)} == {"blocked"}
    blocking[0] = False  # a model that answers: the same input masks and exits 0
    assert main(["mask", str(src), str(cli_env / "ok.jsonl"), "--model", MODEL, "-q"]) == 0
    assert "no row was masked" not in capsys.readouterr().err


# -- 6. an empty or unparsable CSV (or Parquet) file is a data error naming the file ---------


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.csv", ""), ("blank.csv", "\n\n"), ("blank.tsv", "  \n"),
     ("quote.csv", 'source_text\n"never closed\n'), ("bad.parquet", ""),
     ("cut.parquet", "PAR1 not really")],
)  # fmt: skip
def test_unreadable_csv_is_a_data_error(
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    content: str,
) -> None:
    patch_cli(monkeypatch)
    src = cli_env / name
    src.write_text(content, encoding="utf-8")
    assert main(["mask", str(src), str(cli_env / "out.jsonl"), "--model", MODEL, "-q"]) == 3
    err = capsys.readouterr().err
    assert "DatasetError" in err and name in err


# -- 7. a .json file holding a JSON array of records ---------------------------------------


def test_mask_reads_a_json_array_of_records(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    patch_cli(monkeypatch)
    src = cli_env / "in.json"
    rows = [{"id": i, **row} for i, row in enumerate(_rows(3))]
    src.write_text(json.dumps(rows, indent=2), encoding="utf-8")  # pretty: one key a line
    out = cli_env / "out.jsonl"
    assert main(["mask", str(src), str(out), "--model", MODEL, "--id-column", "id", "-q"]) == 0
    records = read_jsonl(out)
    assert [(r["id"], r["status"]) for r in records] == [(0, "ok"), (1, "ok"), (2, "ok")]
    assert "[EMAIL]" in records[0]["masked_text"]
    capsys.readouterr()
    assert main(["mask", str(src), str(out), "--model", MODEL, "--id-column", "id", "-q"]) == 0
    assert "resumed=3" in capsys.readouterr().out  # and a second run resumes it


def test_json_array_is_streamed_item_by_item(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pii_gemini import _io

    monkeypatch.setattr(_io, "_JSON_CHUNK", 7)  # items cross many read boundaries
    items: list[object] = [
        {"source_text": "Zoë ✓ " + "x" * 40, "id": 1.5},
        ["not", "an", "object"],
        {"source_text": 'quote " and é', "id": None},
        {"other": 1},
    ]
    src = tmp_path / "in.json"
    src.write_bytes(b"\xef\xbb\xbf \n" + json.dumps(items).encode("utf-8") + b"\n")
    got = list(_io.iter_rows(src, "source_text", "id"))
    assert [(r.index, r.id, r.text, r.error) for r in got] == [
        (0, 1.5, items[0]["source_text"], None),  # type: ignore[index]
        (1, None, None, "input item 2 of the JSON array is not a JSON object"),
        (2, None, 'quote " and é', None),
        (3, None, None, "row has no 'source_text' field"),
    ]
    assert _io.count_rows(src) is None  # not its line count
    src.write_text('[{"source_text": "a"}, {"source_text": ', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"in\.json.*item 2"):
        list(_io.iter_rows(src, "source_text"))


# -- 13. the CLI speaks of --no-resume, not resume=False -----------------------------------


def test_resume_mismatch_on_the_cli_names_no_resume(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    patch_cli(monkeypatch)
    src, out = write_jsonl(cli_env / "in.jsonl", _rows(3)), cli_env / "out.jsonl"
    assert main(["mask", str(src), str(out), "--model", MODEL, "-q"]) == 0
    write_jsonl(src, [{"source_text": "another text"}, *_rows(3)[1:]])
    capsys.readouterr()
    assert main(["mask", str(src), str(out), "--model", MODEL, "-q"]) == 3
    err = capsys.readouterr().err
    assert "does not match the input" in err
    assert "--no-resume" in err and "resume=False" not in err
    assert main(["mask", str(src), str(out), "--model", MODEL, "-q", "--no-resume"]) == 0


# -- 17. a missing column is named with the columns there are -----------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet", ".json"])
@pytest.mark.parametrize("option", ["--text-column", "--column"])
def test_missing_column_lists_the_columns_there_are(
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    suffix: str,
    option: str,
) -> None:
    import pandas as pd

    patch_cli(monkeypatch)
    df = pd.DataFrame({"id": [1], "text": ["Secret Bob bob@example.org"]})
    src = cli_env / f"in{suffix}"
    if suffix == ".jsonl":
        df.to_json(src, orient="records", lines=True)
    elif suffix == ".json":
        df.to_json(src, orient="records")
    elif suffix == ".csv":
        df.to_csv(src, index=False)
    else:
        df.to_parquet(src)
    argv = ["mask", str(src), str(cli_env / "out.jsonl"), "--model", MODEL, option, "body"]
    assert main([*argv, "-q"]) == 3
    err = capsys.readouterr().err
    assert "'body' not found" in err and "columns: 'id', 'text'" in err, err
    assert "Bob" not in err


def test_unmask_missing_field_lists_the_fields_there_are(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pii_gemini.vault import Vault

    vault = cli_env / "keys" / "v.json"
    vault.parent.mkdir()
    Vault([]).save(vault)
    src = write_jsonl(cli_env / "in.jsonl", [{"row": 0, "text": "Bob [FIRSTNAME_1]"}])
    assert main(["unmask", str(src), str(cli_env / "o.jsonl"), "--vault", str(vault)]) == 3
    err = capsys.readouterr().err
    assert "no 'masked_text' field; its fields: 'row', 'text'" in err and "Bob" not in err


def test_items_of_a_json_array_that_fail_alike_group_as_one_kind(tmp_path: Path) -> None:
    """The trial: 5 bad items of a .json array printed as 5 kinds ("item 3", "item 6", ...)."""
    src = tmp_path / "in.json"
    src.write_text('[{"source_text": "Mail bob@example.org"}, 1, 2, 3]', encoding="utf-8")
    summary = Masker(ScriptedBackend(), MODEL).mask_file(src, tmp_path / "out.jsonl",
                                                         progress=False)  # fmt: skip
    assert summary.failed == 3 and len(summary.failure_reasons) == 1, summary.failure_reasons
    assert "item N" in summary.failure_reasons[0][0]
