"""Item 4 of issue 13: temp files that hold PII are unique, created O_EXCL with mode 0600,
and the ones a killed process left behind are removed on the next run."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from _rel_support import write_jsonl

from pii_gemini.cli import main
from pii_gemini.vault import Vault

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX symlinks and modes")


def _vault(path: Path) -> Path:
    v = Vault()
    v.placeholder("EMAIL", "bob@example.org")
    return v.save(path)


@posix_only
def test_unmask_never_writes_through_a_planted_temp_file_or_symlink(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    vault = _vault(secrets / "v.jsonl")
    src = tmp_path / "answer.txt"
    src.write_text("Write to [EMAIL_1]\n", encoding="utf-8")
    dst = tmp_path / "restored.txt"
    planted = tmp_path / f".{dst.name}.tmp"
    planted.write_text("")
    planted.chmod(0o666)
    evil = tmp_path / "evil.txt"
    link = tmp_path / f".{dst.name}.1.tmp"
    os.symlink(evil, link)
    assert main(["unmask", str(src), str(dst), "--vault", str(vault)]) == 0
    assert dst.read_text(encoding="utf-8") == "Write to bob@example.org\n"
    assert stat.S_IMODE(dst.stat().st_mode) == 0o600
    # the pre-made file did not receive the PII (removing it as stale is fine)
    assert not planted.exists() or planted.read_text() == ""
    assert not evil.exists()  # nor did the symlink's target


_KILL_DURING_SAVE = """
import os, signal, sys
from pii_gemini.vault import Vault
v = Vault()
v.placeholder("EMAIL", "bob@example.org")
real_replace = os.replace
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)
os.replace = die
v.save(sys.argv[1])
"""


@posix_only
def test_a_kill_between_the_vault_temp_write_and_its_rename_leaves_nothing_for_good(
    tmp_path: Path,
) -> None:
    target = tmp_path / "v.jsonl"
    proc = subprocess.run([sys.executable, "-c", _KILL_DURING_SAVE, str(target)], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    stale = [p for p in tmp_path.iterdir() if p.name != target.name]
    assert stale, "the killed save should have left its temp file"
    assert b"bob@example.org" in stale[0].read_bytes()
    _vault(target)  # the next save cleans up
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


@posix_only
def test_the_next_mask_run_cleans_a_stale_vault_temp(tmp_path: Path) -> None:
    from _rel_support import MODEL, ScriptedBackend

    from pii_gemini.masking import Masker

    secrets = tmp_path / "secrets"
    secrets.mkdir()
    target = secrets / "v.jsonl"
    proc = subprocess.run([sys.executable, "-c", _KILL_DURING_SAVE, str(target)], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    src = write_jsonl(tmp_path / "in.jsonl", [{"source_text": "Mail ann@x.org"}])
    masker = Masker(ScriptedBackend(), MODEL, operator="numbered")
    masker.mask_file(src, tmp_path / "out.jsonl", vault_path=target, progress=False)
    assert [p.name for p in secrets.iterdir()] == [target.name]
