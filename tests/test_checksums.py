"""Checksum algorithms against published test vectors and the stdlib."""

from __future__ import annotations

import hashlib

import pytest

from pii_gemini._checksums import (
    IBAN_LENGTHS,
    base58check_valid,
    bech32_address_valid,
    eip55_valid,
    iban_valid,
    keccak_256,
    luhn_valid,
    vin_check_digit_valid,
)


def _one_digit_changed(value: str) -> list[str]:
    """Every variant of ``value`` with exactly one digit bumped by one."""
    return [
        value[:i] + str((int(ch) + 1) % 10) + value[i + 1 :]
        for i, ch in enumerate(value)
        if ch.isdigit()
    ]


def test_keccak_empty_vector() -> None:
    assert keccak_256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )


@pytest.mark.parametrize("size", [0, 1, 3, 135, 136, 137, 272, 1000])
def test_keccak_permutation_matches_sha3(size: int) -> None:
    """SHA3-256 is Keccak with 0x06 padding: same permutation, so the stdlib checks ours."""
    data = bytes(range(256)) * 4
    assert keccak_256(data[:size], pad=0x06) == hashlib.sha3_256(data[:size]).digest()
    assert keccak_256(data[:size]) != hashlib.sha3_256(data[:size]).digest()


EIP55_VECTORS = [  # from the EIP-55 specification
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize("address", EIP55_VECTORS)
def test_eip55_vectors_and_single_case_flips(address: str) -> None:
    assert eip55_valid(address)
    assert eip55_valid(address.lower())
    assert eip55_valid("0x" + address[2:].upper())
    for i, ch in enumerate(address[2:], start=2):
        if ch.isalpha():
            flipped = address[:i] + ch.swapcase() + address[i + 1 :]
            if flipped[2:] not in (address[2:].lower(), address[2:].upper()):
                assert not eip55_valid(flipped)


@pytest.mark.parametrize(
    "bad", ["0x123", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00", "0x" + "g" * 40]
)
def test_eip55_rejects_malformed(bad: str) -> None:
    assert not eip55_valid(bad)


@pytest.mark.parametrize(
    "address",
    ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"],
)
def test_base58check(address: str) -> None:
    assert base58check_valid(address)
    for i, ch in enumerate(address[1:], start=1):  # any one-character change breaks it
        repl = "2" if ch != "2" else "3"
        assert not base58check_valid(address[:i] + repl + address[i + 1 :])


def test_base58check_rejects_wrong_version_and_alphabet() -> None:
    assert not base58check_valid("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", versions=frozenset({5}))
    assert not base58check_valid("0A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")  # '0' not in base58
    assert not base58check_valid("1" * 40)


@pytest.mark.parametrize(
    "address",
    [
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # BIP-173 v0 P2WPKH
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
        "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3",  # v0 P2WSH
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",  # BIP-350 v1
    ],
)
def test_bech32_valid(address: str) -> None:
    assert bech32_address_valid(address)


@pytest.mark.parametrize(
    "address",
    [
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",  # checksum off by one char
        "Bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # mixed case
        "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # other network
        # v1 program with a Bech32 (not Bech32m) checksum: BIP-350 invalid vector
        "bc1p38j9r5y49hruaue7wxjce0updqjuyyx0kh56v8s25huc6995vvpql3jow4",
        "bc1qabc",
    ],
)
def test_bech32_invalid(address: str) -> None:
    assert not bech32_address_valid(address)


@pytest.mark.parametrize("vin", ["1M8GDM9AXKP042788", "11111111111111111", "1HGCM82633A004352"])
def test_vin_check_digit(vin: str) -> None:
    assert vin_check_digit_valid(vin)
    for near in _one_digit_changed(vin):
        assert not vin_check_digit_valid(near)


def test_vin_rejects_forbidden_letters_and_length() -> None:
    assert not vin_check_digit_valid("1M8GDM9AXKP04278")
    assert not vin_check_digit_valid("1M8GDM9AXKP0427O8")


@pytest.mark.parametrize("number", ["4111111111111111", "378282246310005", "6011111111111117"])
def test_luhn(number: str) -> None:
    assert luhn_valid(number)
    for near in _one_digit_changed(number):
        assert not luhn_valid(near)
    assert not luhn_valid("4111-1111")
    assert not luhn_valid("")


@pytest.mark.parametrize(
    "iban", ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606"]
)
def test_iban(iban: str) -> None:
    assert iban_valid(iban)
    for near in _one_digit_changed(iban):
        assert not iban_valid(near)
    assert not iban_valid(iban.lower())
    assert not iban_valid(iban + "0")


def test_iban_length_table_is_sane() -> None:
    assert len(IBAN_LENGTHS) > 80
    assert all(len(cc) == 2 and cc.isupper() and 15 <= n <= 34 for cc, n in IBAN_LENGTHS.items())
