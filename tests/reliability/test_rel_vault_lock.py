"""One vault, one run at a time; a resumed output's tokens must all be in its vault.

The trial ran two ``mask`` commands on one vault at once: each appended its own numbering,
so the vault held 985 tokens given to two values, and neither output (nor any later run)
could use it. It also resumed an output after restoring its vault from an older backup
(same id): the tokens written since were issued again for other values, and ``unmask``
filled 120 rows with other people's values, exit 0. Each test failed before.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from _rel_support import MODEL, ScriptedBackend, patch_cli, read_jsonl, write_jsonl

# the rows, values and input writer of the vault-id tests (tests/reliability is on sys.path)
from test_rel_vault_id import _PII, _ROWS_A, _ROWS_B, _input

from pii_gemini import ConfigError, DatasetError, VaultMismatchError, unmask_file
from pii_gemini._files import run_lock
from pii_gemini._types import Generation, GenerationConfig
from pii_gemini.cli import main
from pii_gemini.masking import Masker
from pii_gemini.vault import Vault


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """(data folder, a separate folder for the vaults: not beside the outputs)."""
    (tmp_path / "vaults").mkdir()
    return tmp_path, tmp_path / "vaults"


def _masker(backend: ScriptedBackend | None = None) -> Masker:
    return Masker(backend or ScriptedBackend(), MODEL, operator="numbered", safety_net=False)


class _StartsAnotherRun(ScriptedBackend):
    """On its first request, starts a second run that uses the same vault (and another
    output), as a second process would while the first is masking."""

    def __init__(self, second: tuple[Path, Path, Path]) -> None:
        super().__init__()
        self._second = second
        self.refusal: BaseException | None = None
        self.second_backend = ScriptedBackend()

    def generate(
        self, model: str, prompt: str, config: GenerationConfig | None = None
    ) -> Generation:
        if self.calls == 0:
            src, out, vault = self._second
            try:
                _masker(self.second_backend).mask_file(src, out, vault_path=vault, progress=False)
            except ConfigError as exc:
                self.refusal = exc
        return super().generate(model, prompt, config)


def test_a_second_run_on_the_same_vault_is_refused_before_any_request(
    folders: tuple[Path, Path],
) -> None:
    data, keys = folders
    vault = keys / "shared.json"
    src_a, src_b = _input(data / "a.jsonl", _ROWS_A), _input(data / "b.jsonl", _ROWS_B)
    backend = _StartsAnotherRun((src_b, data / "out_b.jsonl", vault))
    _masker(backend).mask_file(src_a, data / "out_a.jsonl", vault_path=vault, progress=False)
    message = str(backend.refusal)
    assert "shared.json" in message and "another run" in message, message
    assert backend.second_backend.calls == 0 and not (data / "out_b.jsonl").exists()
    assert not (keys / ".shared.json.lock").exists()  # released and removed at the end
    # the first run's vault is whole: its output unmasks; the second run now may go
    unmask_file(data / "out_a.jsonl", data / "ra.jsonl", vault)
    assert [r["masked_text"] for r in read_jsonl(data / "ra.jsonl")] == _ROWS_A
    _masker().mask_file(src_b, data / "out_b.jsonl", vault_path=vault, progress=False)
    unmask_file(data / "out_b.jsonl", data / "rb.jsonl", vault)
    assert [r["masked_text"] for r in read_jsonl(data / "rb.jsonl")] == _ROWS_B


def test_the_cli_refuses_a_vault_another_run_holds(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, keys = folders
    used = patch_cli(monkeypatch)
    src, vault = _input(data / "a.jsonl", _ROWS_A), keys / "v.json"
    args = ["mask", str(src), str(data / "out.jsonl"), "--model", MODEL, "-q"]
    with run_lock(vault):  # another process's run holds the vault
        code = main([*args, "--operator", "numbered", "--vault", str(vault)])
    err = capsys.readouterr().err
    assert code == 2 and "v.json" in err and "another run" in err, err
    assert used[0].calls == 0 and not vault.exists()  # type: ignore[attr-defined]


def _corrupt_vault(path: Path) -> Path:
    vault = Vault()
    vault.placeholder("FIRSTNAME", "Alice")
    vault.save(path)
    with path.open("ab") as fh:  # the same token again, for another value
        fh.write(path.read_bytes().splitlines(keepends=True)[1].replace(b"Alice", b"Dana"))
    return path


def test_a_vault_with_a_token_given_twice_is_a_data_error_naming_file_and_line(
    folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data, keys = folders
    vault = _corrupt_vault(keys / "bad.json")
    with pytest.raises(DatasetError) as caught:
        Vault.load(vault)
    message = str(caught.value)
    assert "bad.json" in message and "line 3" in message, message
    assert not any(value in message for value in _PII)
    src = _input(data / "a.jsonl", _ROWS_A)
    backend = ScriptedBackend()
    with pytest.raises(DatasetError, match=r"bad\.json line 3"):
        _masker(backend).mask_file(src, data / "out.jsonl", vault_path=vault, progress=False)
    assert backend.calls == 0
    patch_cli(monkeypatch)
    write_jsonl(data / "masked.jsonl", [{"masked_text": "[FIRSTNAME_1] called"}])
    masked, restored = str(data / "masked.jsonl"), str(data / "r.jsonl")
    code = main(["unmask", masked, restored, "--vault", str(vault)])
    err = capsys.readouterr().err
    assert code == 3 and "bad.json line 3" in err, err
    assert not any(value in err for value in _PII)


def test_resume_refuses_a_vault_restored_from_an_older_backup(folders: tuple[Path, Path]) -> None:
    data, keys = folders
    vault = keys / "v.json"
    _masker().mask_file(_input(data / "b.jsonl", _ROWS_A), data / "pre.jsonl", vault_path=vault,
                        progress=False)  # fmt: skip
    shutil.copy(vault, keys / "backup.json")
    src, out = _input(data / "x.jsonl", _ROWS_B + _ROWS_A), data / "k.jsonl"
    _masker().mask_file(src, out, vault_path=vault, progress=False)
    lines = out.read_bytes().splitlines(keepends=True)
    out.write_bytes(b"".join(lines[:3]))  # killed after 3 rows (their tokens are in the vault)
    shutil.copy(keys / "backup.json", vault)  # ... which is then restored from the backup
    backend = ScriptedBackend()
    with pytest.raises(VaultMismatchError) as caught:
        _masker(backend).mask_file(src, out, vault_path=vault, progress=False)
    message = str(caught.value)
    assert "k.jsonl" in message and "v.json" in message and "4 tokens" in message, message
    assert not any(value in message for value in _PII)
    assert backend.calls == 0 and out.read_bytes() == b"".join(lines[:3])


def test_one_missing_token_is_named_in_the_singular(folders: tuple[Path, Path]) -> None:
    data, keys = folders
    vault = keys / "v.json"
    src, out = _input(data / "x.jsonl", _ROWS_A[:1]), data / "k.jsonl"
    _masker().mask_file(src, out, vault_path=vault, progress=False)
    record = json.loads(out.read_text(encoding="utf-8"))
    record["tokens"] = record["tokens"][:1]
    out.write_text(json.dumps(record) + "\n", encoding="utf-8")
    vault.write_bytes(vault.read_bytes().splitlines(keepends=True)[0])  # the header only
    with pytest.raises(VaultMismatchError, match=r"names 1 token that "):
        _masker().mask_file(src, out, vault_path=vault, progress=False)
