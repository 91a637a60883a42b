"""``unmask_file`` of a mask output re-saved as a JSON array, CSV, TSV or Parquet.

Such a file was unmasked as free text: with any vault, every token filled with the other
vault's values and exit 0. Its records are now read as records: each names its vault, which
is checked as a JSONL line's is, and OUT is written in IN's format. Each test failed before.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pii_gemini import ConfigError, DatasetError, VaultMismatchError, unmask_file
from pii_gemini.vault import Vault, VaultEntry

_MASKED = ["Hi [FIRSTNAME_1], call [FIRSTNAME_2].", "No names here.", "Bye [FIRSTNAME_1]."]
_PLAIN = ["Hi Ann, call Ben.", "No names here.", "Bye Ann."]
_OTHER = ["Dora", "Emil"]  # what the other vault's [FIRSTNAME_1] and [FIRSTNAME_2] stand for


def _vault(path: Path, names: list[str]) -> Vault:
    entries = [
        VaultEntry(f"[FIRSTNAME_{n}]", name, "FIRSTNAME", "placeholder")
        for n, name in enumerate(names, 1)
    ]
    vault = Vault(entries)
    vault.save(path)
    return vault


@pytest.fixture
def vaults(tmp_path: Path) -> tuple[Path, Path, pd.DataFrame]:
    """(the vault the rows were masked with, another vault, the masked rows as mask wrote)."""
    own, other = tmp_path / "keys" / "own.json", tmp_path / "keys" / "other.json"
    own.parent.mkdir()
    vault = _vault(own, ["Ann", "Ben"])
    _vault(other, _OTHER)
    tokens = ("[FIRSTNAME_1]", "[FIRSTNAME_2]")
    rows = [
        {"row": i, "id": f"r{i}", "status": "ok", "masked_text": text, "error": None,
         "tokens": [t for t in tokens if t in text], "vault": vault.id}
        for i, text in enumerate(_MASKED)
    ]  # fmt: skip
    return own, other, pd.DataFrame(rows)


def _save(frame: pd.DataFrame, path: Path) -> Path:
    """Re-save the mask output as a user would, with pandas."""
    if path.suffix == ".json":
        frame.to_json(path, orient="records")
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".tsv":
        frame.to_csv(path, sep="\t", index=False)
    else:
        frame.to_parquet(path)
    return path


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".json":
        return pd.DataFrame(json.loads(path.read_text(encoding="utf-8")))
    if path.suffix in (".csv", ".tsv"):
        sep = "\t" if path.suffix == ".tsv" else ","
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
    return pd.read_parquet(path)


_SUFFIXES = [".json", ".csv", ".tsv", ".parquet"]


@pytest.mark.parametrize("suffix", _SUFFIXES)
def test_a_table_masked_with_another_vault_is_refused(
    tmp_path: Path, vaults: tuple[Path, Path, pd.DataFrame], suffix: str
) -> None:
    _, other, frame = vaults
    src = _save(frame, tmp_path / f"masked{suffix}")
    dst = tmp_path / "out" / f"restored{suffix}"
    with pytest.raises(VaultMismatchError) as caught:
        unmask_file(src, dst, other)
    message = str(caught.value)
    assert src.name in message and "other.json" in message
    assert not any(name in message for name in ("Ann", "Ben", *_OTHER))
    assert not dst.exists()


@pytest.mark.parametrize("suffix", _SUFFIXES)
def test_a_table_is_restored_in_its_own_format_with_its_vault(
    tmp_path: Path, vaults: tuple[Path, Path, pd.DataFrame], suffix: str
) -> None:
    own, _, frame = vaults
    src = _save(frame, tmp_path / f"masked{suffix}")
    dst = tmp_path / f"restored{suffix}"
    done = unmask_file(src, dst, own)
    assert not done.text and done.rows == 3 and done.unverified == 0 and done.unscoped == 0
    assert (done.restored, done.left) == (3, 0)
    assert dst.stat().st_mode & 0o777 == 0o600
    restored = _read(dst)
    assert restored["masked_text"].tolist() == _PLAIN
    assert restored["id"].tolist() == ["r0", "r1", "r2"]  # the other fields are kept
    assert list(restored.columns) == list(frame.columns)


def test_tokens_limit_what_a_csv_row_restores(
    tmp_path: Path, vaults: tuple[Path, Path, pd.DataFrame]
) -> None:
    own, _, frame = vaults
    frame.at[2, "tokens"] = []  # the row's answer holds a token not issued for it
    done = unmask_file(_save(frame, tmp_path / "m.csv"), tmp_path / "r.csv", own)
    assert (done.restored, done.left) == (2, 1)
    assert _read(tmp_path / "r.csv")["masked_text"].tolist()[2] == _MASKED[2]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_rows_that_name_no_vault_are_restored_and_counted(
    tmp_path: Path, vaults: tuple[Path, Path, pd.DataFrame], suffix: str
) -> None:
    own, _, frame = vaults
    src = _save(frame.drop(columns=["vault", "tokens"]), tmp_path / f"m{suffix}")
    done = unmask_file(src, tmp_path / f"r{suffix}", own)
    assert done.unverified == 3 and done.unscoped == 3
    assert _read(tmp_path / f"r{suffix}")["masked_text"].tolist() == _PLAIN


def test_a_table_naming_vaults_without_the_column_is_refused(
    tmp_path: Path, vaults: tuple[Path, Path, pd.DataFrame]
) -> None:
    own, _, frame = vaults
    src = _save(frame.rename(columns={"masked_text": "answer"}), tmp_path / "m.csv")
    with pytest.raises(DatasetError, match=r"'masked_text'.*'answer'"):
        unmask_file(src, tmp_path / "r.csv", own)
    done = unmask_file(src, tmp_path / "r.csv", own, column="answer")
    assert done.rows == 3 and _read(tmp_path / "r.csv")["answer"].tolist() == _PLAIN


def test_a_csv_without_the_column_or_vaults_is_still_text(
    tmp_path: Path, vaults: tuple[Path, Path, pd.DataFrame]
) -> None:
    own, _, _ = vaults
    src = tmp_path / "answer.csv"
    src.write_text("note\nHi [FIRSTNAME_1]\n", encoding="utf-8")
    done = unmask_file(src, tmp_path / "r.csv", own)
    assert done.text and (tmp_path / "r.csv").read_text(encoding="utf-8") == "note\nHi Ann\n"


@pytest.mark.parametrize(("suffix", "out"), [(".csv", "r.jsonl"), (".parquet", "r.csv")])
def test_an_output_named_for_another_format_is_refused(
    tmp_path: Path, vaults: tuple[Path, Path, pd.DataFrame], suffix: str, out: str
) -> None:
    own, _, frame = vaults
    src = _save(frame, tmp_path / f"m{suffix}")
    with pytest.raises(ConfigError, match=f"(?i){out}.*{suffix.lstrip('.')}"):
        unmask_file(src, tmp_path / out, own)
    assert not (tmp_path / out).exists()


def test_a_parquet_file_without_the_column_is_a_data_error(
    tmp_path: Path, vaults: tuple[Path, Path, pd.DataFrame]
) -> None:
    own, _, frame = vaults
    src = _save(frame[["id"]], tmp_path / "m.parquet")
    with pytest.raises(DatasetError, match=r"'masked_text'.*'id'"):
        unmask_file(src, tmp_path / "r.parquet", own)


def test_a_folder_given_as_input_is_said_to_be_a_folder(
    tmp_path: Path, vaults: tuple[Path, Path, pd.DataFrame]
) -> None:
    own, _, _ = vaults
    with pytest.raises(DatasetError, match="is a folder, not a file"):
        unmask_file(tmp_path, tmp_path / "r.txt", own)
