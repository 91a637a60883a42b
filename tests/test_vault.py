"""Vault: consistency, unmask tolerance, JSON, 0600 files, never beside the masked output."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from pii_gemini._exceptions import ConfigError
from pii_gemini.vault import Vault, VaultEntry, unmask

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")


def _vault() -> Vault:
    v = Vault()
    v.placeholder("FIRSTNAME", "Ann")
    v.placeholder("FIRSTNAME", "Bob")
    v.placeholder("EMAIL", "ann@x.org")
    v.surrogate("LASTNAME", "Lee", lambda attempt: "Okafor")
    return v


def test_placeholders_are_consistent_and_counted_per_label() -> None:
    v = _vault()
    assert v.placeholder("FIRSTNAME", "Ann") == "[FIRSTNAME_1]"
    assert v.placeholder("FIRSTNAME", "Bob") == "[FIRSTNAME_2]"
    assert v.placeholder("EMAIL", "ann@x.org") == "[EMAIL_1]"
    assert v.placeholder("LASTNAME", "Ann") == "[LASTNAME_1]"  # same value, other label
    assert v.original("[FIRSTNAME_2]") == "Bob"
    assert v.token_for("FIRSTNAME", "Ann") == "[FIRSTNAME_1]"
    assert v.token_for("LASTNAME", "Lee", "surrogate") == "Okafor"
    assert v.original("[NOPE_1]") is None
    assert "[EMAIL_1]" in v and len(v) == 5


def test_placeholder_skips_avoided_keys() -> None:
    v = Vault()
    assert v.placeholder("CITY", "Leeds", avoid=frozenset({"[CITY_1]"})) == "[CITY_2]"
    assert v.placeholder("CITY", "York") == "[CITY_3]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello [FIRSTNAME_1] and [FIRSTNAME_2]!", "Hello Ann and Bob!"),
        ("hello [firstname_1]", "hello Ann"),  # case
        ("hello [ FIRSTNAME_1 ]", "hello Ann"),  # inner spaces
        ("hello [FirstName _ 1]", "hello Ann"),
        ("hello [FIRSTNAME_01]", "hello Ann"),  # leading zero
        ("hello FIRSTNAME_1, bye", "hello Ann, bye"),  # bare, upper-case whole token
        ("mail [EMAIL_1].", "mail ann@x.org."),
        ("Dear Okafor family", "Dear Lee family"),  # surrogate
        ("[FIRSTNAME_1][EMAIL_1]", "Annann@x.org"),  # adjacent placeholders
    ],
)
def test_unmask_tolerates_small_changes(text: str, expected: str) -> None:
    assert unmask(text, _vault()) == expected


@pytest.mark.parametrize(
    "text",
    [
        "unknown [FIRSTNAME_9] stays",
        "no index [FIRSTNAME] stays",
        "lower bare firstname_1 stays",
        "glued xFIRSTNAME_1 and FIRSTNAME_1x stay",
        "surrogate inside a word: Okaforian stays",
        "surrogate case changed: OKAFOR stays",
        "snake_case MY_FIRSTNAME_1 stays",
    ],
)
def test_unmask_leaves_what_it_cannot_attribute(text: str) -> None:
    assert unmask(text, _vault()) == text


def test_unmask_empty_vault_and_bad_arguments() -> None:
    assert unmask("[FIRSTNAME_1]", Vault()) == "[FIRSTNAME_1]"
    with pytest.raises(ConfigError):
        unmask("x", {})  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        unmask(b"x", Vault())  # type: ignore[arg-type]


def test_unmask_sees_entries_added_later() -> None:
    v = Vault()
    v.placeholder("CITY", "Leeds")
    assert unmask("[CITY_1]", v) == "Leeds"
    v.surrogate("CITY", "York", lambda attempt: "Dover")
    assert unmask("[CITY_1] Dover", v) == "Leeds York"


def test_surrogate_candidates_must_be_unique_and_absent_from_source() -> None:
    v = Vault()
    v.surrogate("FIRSTNAME", "Ann", lambda attempt: "Zed")
    tried: list[str] = []

    def make(attempt: int) -> str:
        # taken, holds a surrogate of the same text, an original, in the source
        options = ["Zed", "Zed Lee", "Ann", "Ma", "Kim"]
        tried.append(options[attempt])
        return options[attempt]

    assert v.surrogate("FIRSTNAME", "Bea", make, avoid="Max was here", others=["Zed"]) == "Kim"
    assert tried == ["Zed", "Zed Lee", "Ann", "Ma", "Kim"]
    # inside another word it would not be unmasked, so it does not collide
    assert v.surrogate("FIRSTNAME", "Cy", lambda attempt: "Zeda", others=["Zed"]) == "Zeda"
    with pytest.raises(ConfigError, match="unique surrogate"):
        v.surrogate("FIRSTNAME", "Di", lambda attempt: "Zed")


def test_add_rejects_conflicts() -> None:
    v = _vault()
    v.add(VaultEntry("[FIRSTNAME_1]", "Ann", "FIRSTNAME", "placeholder"))  # identical: no-op
    with pytest.raises(ConfigError, match="already in use"):
        v.add(VaultEntry("[FIRSTNAME_1]", "Eve", "FIRSTNAME", "placeholder"))
    with pytest.raises(ConfigError, match="already in use"):
        v.add(VaultEntry("[firstname_1]", "Eve", "firstname", "placeholder"))
    with pytest.raises(ConfigError, match=r"\[LABEL_N\]"):
        v.add(VaultEntry("FIRSTNAME-3", "Eve", "FIRSTNAME", "placeholder"))
    with pytest.raises(ConfigError, match="kind"):
        VaultEntry("x", "y", "Z", "other")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cannot be numbered"):
        v.placeholder("FIRST NAME", "Eve")


def test_repr_never_shows_values() -> None:
    v = _vault()
    shown = repr(v) + repr(list(v))
    for secret in ("Ann", "Bob", "ann@x.org", "Lee"):
        assert secret not in shown
    assert repr(v) == "Vault(entries=4, labels=['EMAIL', 'FIRSTNAME', 'LASTNAME'])"


def test_json_round_trip() -> None:
    v = _vault()
    again = Vault.from_json(v.to_json())
    assert again.to_json() == v.to_json()
    assert unmask("[FIRSTNAME_2] Okafor", again) == "Bob Lee"
    assert again.placeholder("FIRSTNAME", "Cy") == "[FIRSTNAME_3]"  # counters restored


@pytest.mark.parametrize(
    "data",
    [
        "not json",
        "[]",
        json.dumps({"format": "other", "version": 1, "entries": []}),
        json.dumps({"format": "pii_gemini.vault", "version": 99, "entries": []}),
        json.dumps({"format": "pii_gemini.vault", "version": 1, "entries": {}}),
        json.dumps({"format": "pii_gemini.vault", "version": 1, "entries": [{"token": 1}]}),
    ],
)
def test_from_json_rejects_malformed(data: str) -> None:
    with pytest.raises(ConfigError):
        Vault.from_json(data)


@posix_only
def test_save_writes_0600_atomically_and_loads(tmp_path: Path) -> None:
    old_umask = os.umask(0o000)  # even a permissive umask must not widen the file
    try:
        path = _vault().save(tmp_path / "vault.json")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["vault.json"]  # no temp file left
    assert unmask("[EMAIL_1]", Vault.load(path)) == "ann@x.org"
    # overwriting keeps 0600 even if the old file had looser permissions
    path.chmod(0o644)
    _vault().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_save_refuses_the_masked_output_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    masked = out / "masked.jsonl"
    with pytest.raises(ConfigError, match="directory of the masked output"):
        _vault().save(out / "vault.json", masked_output=masked)
    assert not (out / "vault.json").exists()
    _vault().save(out / "vault.json", masked_output=masked, allow_same_dir=True)
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    _vault().save(secrets_dir / "vault.json", masked_output=masked)
    assert (secrets_dir / "vault.json").exists()


def test_save_and_load_errors_name_the_file_not_the_content(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        _vault().save(tmp_path / "missing" / "v.json")
    with pytest.raises(ConfigError, match="is a directory"):
        _vault().save(tmp_path)
    with pytest.raises(ConfigError, match=r"nope\.json"):
        Vault.load(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"not json at all\n", "is not a pii_gemini vault file"),
        (b'{"format": "pii_gemini.vault", "version": 2, "id": "XYZ"}\n', "line 1"),
        (
            b'{"format": "pii_gemini.vault", "version": 2}\n{"token": "[EMAIL_1]"\n{}\n',
            "line 2 is not a vault entry",
        ),
        (b'{"format": "pii_gemini.vault", "version": 2}\n{"token": 1}\n', "2 of v.json"),
    ],
)
def test_a_damaged_vault_file_is_a_data_error_naming_the_file(
    tmp_path: Path, content: bytes, where: str
) -> None:
    """What a vault file holds is data: a damaged one is a DatasetError (exit 3 on the CLI,
    as a vault with a token given twice), naming the file and place, never the content."""
    from pii_gemini._exceptions import DatasetError

    path = tmp_path / "v.json"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=r"v\.json") as caught:
        Vault.load(path)
    assert where in str(caught.value)
