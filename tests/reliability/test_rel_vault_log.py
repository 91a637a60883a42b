"""Item 7 of issue 13: the vault is saved thread-safely and incrementally (an append-only
log, compacted atomically), so saving never crashes a run and costs what was added."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, write_jsonl

from pii_gemini.masking import Masker
from pii_gemini.vault import Vault, VaultEntry


def _entry(i: int) -> VaultEntry:
    return VaultEntry(f"[EMAIL_{i}]", f"user{i}@example.org", "EMAIL", "placeholder")


def test_serialising_while_workers_add_entries_never_crashes(tmp_path: Path) -> None:
    vault = Vault(_entry(i) for i in range(1, 2001))
    stop = threading.Event()

    def add() -> None:
        for i in range(2001, 12_001):
            if stop.is_set():
                return
            vault.add(_entry(i))

    worker = threading.Thread(target=add)
    worker.start()
    try:
        for _ in range(10):
            vault.to_dict()
            list(vault)
            vault.save(tmp_path / "v.jsonl")
    finally:
        stop.set()
        worker.join()
    assert len(Vault.load(tmp_path / "v.jsonl")) >= 2000


def test_mask_file_appends_to_the_vault_instead_of_rewriting_it(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    vault_path = secrets / "v.jsonl"
    inodes: set[int] = set()
    sizes: list[int] = []

    def answer(text: str) -> str:
        if vault_path.exists():
            inodes.add(vault_path.stat().st_ino)
            sizes.append(vault_path.stat().st_size)
        from _rel_support import mask_known

        return mask_known(text)

    rows = [{"source_text": f"Mail u{i}@example.org"} for i in range(60)]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    masker = Masker(ScriptedBackend(answer=answer), MODEL, operator="numbered", concurrency=1)
    masker.mask_file(src, tmp_path / "out.jsonl", vault_path=vault_path, chunk_size=5,
                     progress=False)  # fmt: skip
    assert len(inodes) == 1  # never replaced: appended to
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
    loaded = Vault.load(vault_path)
    assert len(loaded) == 60
    assert loaded.original("[EMAIL_60]") == "u59@example.org"


def test_a_torn_last_entry_is_dropped_and_the_log_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "v.jsonl"
    Vault(_entry(i) for i in range(1, 4)).save(path)
    with path.open("ab") as fh:
        fh.write(b'{"token": "[EMAIL_4]", "orig')  # a kill mid-append
    vault = Vault.load(path)
    assert len(vault) == 3
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    src = write_jsonl(tmp_path / "in.jsonl", [{"source_text": "Mail new@example.org"}])
    masker = Masker(ScriptedBackend(), MODEL, operator="numbered", vault=Vault())
    masker.mask_file(src, tmp_path / "out.jsonl", vault_path=path, vault_allow_same_dir=True,
                     progress=False)  # fmt: skip
    again = Vault.load(path)
    assert len(again) == 4 and again.original("[EMAIL_4]") == "new@example.org"


def test_a_version_1_vault_file_is_still_read_and_extended(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(Vault(_entry(i) for i in range(1, 3)).to_json(), encoding="utf-8")
    assert len(Vault.load(path)) == 2
    src = write_jsonl(tmp_path / "in.jsonl", [{"source_text": "Mail new@example.org"}])
    masker = Masker(ScriptedBackend(), MODEL, operator="numbered")
    masker.mask_file(src, tmp_path / "out.jsonl", vault_path=path, vault_allow_same_dir=True,
                     progress=False)  # fmt: skip
    assert Vault.load(path).original("[EMAIL_3]") == "new@example.org"
    if os.name == "posix":
        assert (path.stat().st_mode & 0o777) == 0o600


@pytest.mark.parametrize("garbage", [b"not a vault\n", b"\x00\x01"])
def test_a_file_that_is_not_a_vault_is_refused_not_overwritten(
    tmp_path: Path, garbage: bytes
) -> None:
    from pii_gemini import DatasetError

    path = tmp_path / "v.jsonl"
    path.write_bytes(garbage)
    src = write_jsonl(tmp_path / "in.jsonl", [{"source_text": "Mail new@example.org"}])
    masker = Masker(ScriptedBackend(), MODEL, operator="numbered")
    with pytest.raises(DatasetError, match="vault"):  # a damaged file: data, exit 3
        masker.mask_file(src, tmp_path / "out.jsonl", vault_path=path,
                         vault_allow_same_dir=True, progress=False)  # fmt: skip
    assert path.read_bytes() == garbage
