"""A vault belongs to the outputs masked with it: unmask refuses one from another run.

Tokens are numbered per vault (``[FIRSTNAME_1]`` is the first name each vault saw), so the
output of one run unmasked with the vault of another would get that run's values, silently.
Each vault has a random id (in its file's header); every line masked with it names it
(``vault``); unmask and resume refuse a vault whose id differs. Each test failed before.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, patch_cli, read_jsonl, write_jsonl

from pii_gemini import (
    BackendError,
    ConfigError,
    DatasetError,
    PiiGeminiError,
    VaultMismatchError,
    unmask_file,
)
from pii_gemini.cli import main
from pii_gemini.masking import Masker
from pii_gemini.vault import Vault, unmask

_ROWS_A = ["Mail Alice at alice@example.org", "Bruno called", "Ask Alice or Chen"]
_ROWS_B = ["Mail Dana at dana@example.org", "Emeka called", "Ask Dana or Farah"]
_PII = ("Alice", "Bruno", "Chen", "Dana", "Emeka", "Farah", "alice@", "dana@")


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """(data folder, a separate folder for the vaults)."""
    keys = tmp_path / "keys"
    keys.mkdir()
    return tmp_path, keys


def _input(path: Path, texts: list[str]) -> Path:
    return write_jsonl(path, [{"source_text": t} for t in texts])


def _mask(src: Path, out: Path, vault: Path, **kwargs: object) -> None:
    masker = Masker(ScriptedBackend(), MODEL, operator="numbered", safety_net=False)
    masker.mask_file(src, out, vault_path=vault, progress=False, **kwargs)  # type: ignore[arg-type]


def _two_runs(data: Path, keys: Path, second: list[str]) -> tuple[Path, Path, Path, Path]:
    src_a, src_b = _input(data / "a.jsonl", _ROWS_A), _input(data / "b.jsonl", second)
    out_a, out_b = data / "out_a.jsonl", data / "out_b.jsonl"
    _mask(src_a, out_a, keys / "a.vault")
    _mask(src_b, out_b, keys / "b.vault")
    return out_a, keys / "a.vault", out_b, keys / "b.vault"


# -- the library ---------------------------------------------------------------------------


@pytest.mark.parametrize("second", [_ROWS_B, _ROWS_A], ids=["other-input", "same-input"])
def test_unmask_file_refuses_the_vault_of_another_run(
    folders: tuple[Path, Path], second: list[str]
) -> None:
    data, keys = folders
    out_a, vault_a, _, vault_b = _two_runs(data, keys, second)
    dst = data / "restored.jsonl"
    with pytest.raises(VaultMismatchError) as caught:
        unmask_file(out_a, dst, vault_b)
    message = str(caught.value)
    assert "out_a.jsonl" in message and "b.vault" in message
    assert not any(value in message for value in _PII)
    assert isinstance(caught.value, DatasetError) and isinstance(caught.value, PiiGeminiError)
    assert not dst.exists()
    done = unmask_file(out_a, dst, vault_a)  # its own vault: every value comes back
    assert [r["masked_text"] for r in read_jsonl(dst)] == _ROWS_A
    assert done.rows == 3 and done.unverified == 0 and done.restored > 0


def test_a_mask_output_named_json_is_read_as_lines_and_checked(
    folders: tuple[Path, Path],
) -> None:
    data, keys = folders
    src = _input(data / "a.jsonl", _ROWS_A)
    _mask(src, data / "out.json", keys / "a.vault")
    _mask(_input(data / "b.jsonl", _ROWS_B), data / "out_b.json", keys / "b.vault")
    with pytest.raises(VaultMismatchError):
        unmask_file(data / "out.json", data / "restored.json", keys / "b.vault")
    done = unmask_file(data / "out.json", data / "restored.json", keys / "a.vault")
    assert not done.text and done.rows == 3
    assert [r["masked_text"] for r in read_jsonl(data / "restored.json")] == _ROWS_A


def test_each_line_names_its_vault_and_restore_checks_it(folders: tuple[Path, Path]) -> None:
    data, keys = folders
    out_a, vault_a, _, vault_b = _two_runs(data, keys, _ROWS_B)
    va, vb = Vault.load(vault_a), Vault.load(vault_b)
    assert va.id and vb.id and va.id != vb.id
    record = read_jsonl(out_a)[0]
    assert record["vault"] == va.id
    assert unmask(record["masked_text"], va, tokens=record["tokens"], vault_id=va.id) == _ROWS_A[0]
    with pytest.raises(VaultMismatchError):
        unmask(record["masked_text"], vb, tokens=record["tokens"], vault_id=record["vault"])
    with pytest.raises(VaultMismatchError):
        vb.restore(record["masked_text"], vault_id=record["vault"])


def test_a_vault_keeps_its_id_when_saved_loaded_and_extended(folders: tuple[Path, Path]) -> None:
    data, keys = folders
    vault = Vault()
    assert vault.id is not None and len(vault.id) == 32
    vault.save(keys / "v.jsonl")
    assert Vault.load(keys / "v.jsonl").id == vault.id
    assert Vault.from_json(vault.to_json()).id == vault.id
    assert Vault().id != vault.id
    with pytest.raises(ConfigError):
        Vault(vault_id="not-an-id")
    _mask(_input(data / "a.jsonl", _ROWS_A), data / "out.jsonl", keys / "v.jsonl")
    assert Vault.load(keys / "v.jsonl").id == vault.id  # extended, same id
    assert {r["vault"] for r in read_jsonl(data / "out.jsonl")} == {vault.id}


def test_resume_keeps_the_id_and_refuses_another_vault(folders: tuple[Path, Path]) -> None:
    data, keys = folders
    src, out = _input(data / "a.jsonl", _ROWS_A), data / "out.jsonl"
    failing = Masker(
        ScriptedBackend(fault=lambda prompt, n: _fault() if "Chen" in prompt else None),
        MODEL, operator="numbered", safety_net=False, sleep=lambda s: None,
    )  # fmt: skip
    failing.mask_file(src, out, vault_path=keys / "a.vault", progress=False)
    assert [r["status"] for r in read_jsonl(out)] == ["ok", "ok", "failed"]
    with pytest.raises(VaultMismatchError) as caught:  # a new vault would reuse its tokens
        _mask(src, out, keys / "other.vault")
    assert "out.jsonl" in str(caught.value) and "other.vault" in str(caught.value)
    assert not (keys / "other.vault").exists()
    _mask(src, out, keys / "a.vault")  # the same vault: the failed row is redone
    records = read_jsonl(out)
    assert [r["status"] for r in records] == ["ok"] * 3
    assert {r["vault"] for r in records} == {Vault.load(keys / "a.vault").id}
    unmask_file(out, data / "restored.jsonl", keys / "a.vault")
    assert [r["masked_text"] for r in read_jsonl(data / "restored.jsonl")] == _ROWS_A


def _fault() -> BackendError:
    from pii_gemini import InvalidRequestError

    return InvalidRequestError("400 scripted")


def test_a_partial_output_unmasks_with_its_complete_vault(folders: tuple[Path, Path]) -> None:
    data, keys = folders
    out_a, vault_a, _, _ = _two_runs(data, keys, _ROWS_B)
    lines = out_a.read_bytes().splitlines(keepends=True)
    out_a.write_bytes(lines[0])  # the first row of a run that stopped there
    unmask_file(out_a, data / "restored.jsonl", vault_a)
    assert [r["masked_text"] for r in read_jsonl(data / "restored.jsonl")] == _ROWS_A[:1]
    out_a.write_bytes(lines[0] + lines[1][:20])  # and a line torn by a kill: resume first
    with pytest.raises(DatasetError, match=r"line 2 .* cut short"):
        unmask_file(out_a, data / "restored.jsonl", vault_a, force=True)


@pytest.fixture
def legacy(folders: tuple[Path, Path]) -> tuple[Path, Path, Path]:
    """(data folder, an output and its vault as the previous version wrote them: no ids)."""
    data, keys = folders
    out_a, vault_a, _, _ = _two_runs(data, keys, _ROWS_B)
    _strip_ids(out_a, vault_a)
    return data, out_a, vault_a


def test_legacy_files_without_ids_still_unmask_counted_as_unverified(
    legacy: tuple[Path, Path, Path],
) -> None:
    data, out_a, vault_a = legacy
    assert Vault.load(vault_a).id is None
    done = unmask_file(out_a, data / "restored.jsonl", vault_a)
    assert done.unverified == 3
    assert [r["masked_text"] for r in read_jsonl(data / "restored.jsonl")] == _ROWS_A


def _strip_ids(out: Path, vault: Path) -> None:
    """Make ``out`` and ``vault`` look written by the previous version (no ids)."""
    records = read_jsonl(out)
    for r in records:
        r.pop("vault")
    write_jsonl(out, records)
    lines = vault.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    header.pop("id")
    vault.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n", encoding="utf-8")


# -- the command line ----------------------------------------------------------------------


@pytest.mark.parametrize("second", [_ROWS_B, _ROWS_A], ids=["other-input", "same-input"])
def test_cli_unmask_refuses_the_vault_of_another_run(
    folders: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    second: list[str],
) -> None:
    patch_cli(monkeypatch)
    data, keys = folders
    runs = []
    for name, texts in (("a", _ROWS_A), ("b", second)):
        src, out = _input(data / f"{name}.jsonl", texts), data / f"out_{name}.jsonl"
        argv = ["mask", str(src), str(out), "--model", MODEL, "--operator", "numbered"]
        assert main([*argv, "--vault", str(keys / f"{name}.vault"), "--no-safety-net", "-q"]) == 0
        runs.append(out)
    capsys.readouterr()
    again = ["mask", str(data / "a.jsonl"), str(runs[0]), "--model", MODEL, "--operator"]
    rc = main([*again, "numbered", "--vault", str(keys / "b.vault"), "--no-safety-net", "-q"])
    assert rc == 3 and "--no-resume" in capsys.readouterr().err  # resuming with another vault
    restored = data / "restored.jsonl"
    rc = main(["unmask", str(runs[0]), str(restored), "--vault", str(keys / "b.vault")])
    captured = capsys.readouterr()
    assert rc == 3
    assert "out_a.jsonl" in captured.err and "b.vault" in captured.err
    assert not any(value in captured.out + captured.err for value in _PII)
    assert not restored.exists()
    assert main(["unmask", str(runs[0]), str(restored), "--vault", str(keys / "a.vault")]) == 0
    assert [r["masked_text"] for r in read_jsonl(restored)] == _ROWS_A
    assert "warning" not in capsys.readouterr().err


def test_cli_unmask_of_legacy_files_warns_and_restores(
    legacy: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data, out_a, vault_a = legacy
    restored = data / "restored.jsonl"
    assert main(["unmask", str(out_a), str(restored), "--vault", str(vault_a)]) == 0
    err = capsys.readouterr().err
    assert "3 rows" in err and "no vault id" in err
    assert [r["masked_text"] for r in read_jsonl(restored)] == _ROWS_A


def test_an_old_vault_extended_by_a_new_run_gets_an_id_and_old_outputs_still_unmask(
    legacy: tuple[Path, Path, Path],
) -> None:
    data, out_a, vault_a = legacy
    src_c, out_c = _input(data / "c.jsonl", _ROWS_B), data / "out_c.jsonl"
    _mask(src_c, out_c, vault_a)  # the same (old) vault, extended by this version
    vault_id = Vault.load(vault_a).id
    assert vault_id is not None and {r["vault"] for r in read_jsonl(out_c)} == {vault_id}
    old = unmask_file(out_a, data / "restored_a.jsonl", vault_a)
    new = unmask_file(out_c, data / "restored_c.jsonl", vault_a)
    assert (old.unverified, new.unverified) == (3, 0)
    assert [r["masked_text"] for r in read_jsonl(data / "restored_a.jsonl")] == _ROWS_A
    assert [r["masked_text"] for r in read_jsonl(data / "restored_c.jsonl")] == _ROWS_B
    _mask(data / "a.jsonl", out_a, vault_a)  # an old output resumes with its vault as before
