"""Checksum algorithms the safety-net detectors validate candidates with.

Pure functions on plain strings, no regexes: Luhn (cards), ISO 13616 mod-97 (IBAN),
Base58Check and Bech32/Bech32m (Bitcoin), Keccak-256 + EIP-55 (Ethereum) and the
ISO 3779 check digit (North American VINs). Keccak-256 is written out here because
``hashlib.sha3_256`` uses different padding (SHA-3, not the Keccak that Ethereum uses) and
the project avoids a crypto dependency for one hash; tests check it against ``sha3_256``
(same permutation) and the EIP-55 test vectors.
"""

from __future__ import annotations

import hashlib

__all__ = [
    "IBAN_LENGTHS",
    "base58check_valid",
    "bech32_address_valid",
    "eip55_valid",
    "iban_valid",
    "keccak_256",
    "luhn_valid",
    "vin_check_digit_valid",
]


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn (mod 10) check."""
    if not digits.isdigit() or not digits.isascii():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip
"""IBAN length per country code (ISO 13616 registry, SWIFT release 2024)."""


def iban_valid(iban: str) -> bool:
    """True for a compact IBAN (no spaces) of the right length whose mod-97 remainder is 1."""
    if not iban.isascii() or not iban.isalnum() or iban != iban.upper():
        return False
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {ch: i for i, ch in enumerate(_B58)}


def base58check_valid(address: str, versions: frozenset[int] = frozenset({0x00, 0x05})) -> bool:
    """True for a Base58Check string of 25 bytes with a known version byte and a good checksum.

    The default versions are Bitcoin mainnet P2PKH (``1...``) and P2SH (``3...``).
    """
    num = 0
    for ch in address:
        idx = _B58_INDEX.get(ch)
        if idx is None:
            return False
        num = num * 58 + idx
    leading = len(address) - len(address.lstrip("1"))
    try:
        body = num.to_bytes(25 - leading, "big") if num else b""
    except OverflowError:
        return False
    raw = b"\x00" * leading + body
    if len(raw) != 25 or raw[0] not in versions:
        return False
    digest = hashlib.sha256(hashlib.sha256(raw[:-4]).digest()).digest()
    return digest[:4] == raw[-4:]


_BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_BECH32_CONST = 1
_BECH32M_CONST = 0x2BC830A3


def _bech32_polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _BECH32_GEN[i]
    return chk


def _convert_bits(data: list[int], from_bits: int, to_bits: int) -> list[int] | None:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if bits >= from_bits or (acc << (to_bits - bits)) & maxv:
        return None
    return out


def bech32_address_valid(address: str, hrp: str = "bc") -> bool:
    """True for a segwit address (BIP-173 Bech32 for v0, BIP-350 Bech32m for v1+)."""
    if address.lower() != address and address.upper() != address:
        return False  # mixed case is invalid by BIP-173
    addr = address.lower()
    pos = addr.rfind("1")
    if addr[:pos] != hrp or pos + 7 > len(addr) or len(addr) > 90:
        return False
    try:
        data = [_BECH32_CHARSET.index(ch) for ch in addr[pos + 1 :]]
    except ValueError:
        return False
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    const = _bech32_polymod(expanded + data)
    if const not in (_BECH32_CONST, _BECH32M_CONST):
        return False
    version, payload = data[0], data[1:-6]
    program = _convert_bits(payload, 5, 8)
    if version > 16 or program is None or not 2 <= len(program) <= 40:
        return False
    if version == 0:
        return const == _BECH32_CONST and len(program) in (20, 32)
    return const == _BECH32M_CONST


_MASK64 = (1 << 64) - 1


def _round_constants() -> tuple[int, ...]:
    """The 24 Keccak-f[1600] iota constants, generated by the spec's LFSR."""
    state = 1
    out = []
    for _ in range(24):
        rc = 0
        for j in range(7):
            if state & 1:
                rc |= 1 << ((1 << j) - 1)
            state = ((state << 1) ^ 0x71) & 0xFF if state & 0x80 else state << 1
        out.append(rc)
    return tuple(out)


def _rotation_offsets() -> tuple[int, ...]:
    """The rho offsets per lane index ``x + 5*y``."""
    rot = [0] * 25
    x, y = 1, 0
    for t in range(24):
        rot[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    return tuple(rot)


_RC = _round_constants()
_ROT = _rotation_offsets()


def _keccak_f(lanes: list[int]) -> list[int]:
    a = lanes
    for rc in _RC:
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ (((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63)) & _MASK64)
             for x in range(5)]  # fmt: skip
        a = [a[i] ^ d[i % 5] for i in range(25)]
        b = [0] * 25
        for x in range(5):
            for y in range(5):
                v, r = a[x + 5 * y], _ROT[x + 5 * y]
                b[y + 5 * ((2 * x + 3 * y) % 5)] = ((v << r) | (v >> (64 - r))) & _MASK64
        a = [
            b[i] ^ (~b[(i + 1) % 5 + 5 * (i // 5)] & b[(i + 2) % 5 + 5 * (i // 5)])
            for i in range(25)
        ]
        a[0] ^= rc
    return a


def keccak_256(data: bytes, *, pad: int = 0x01) -> bytes:
    """Keccak-256 as Ethereum uses it (``pad=0x06`` gives standard SHA3-256 instead)."""
    rate = 136
    msg = bytearray(data)
    msg.append(pad)
    msg.extend(b"\x00" * (-len(msg) % rate))
    msg[-1] |= 0x80
    lanes = [0] * 25
    for off in range(0, len(msg), rate):
        block = msg[off : off + rate]
        for i in range(rate // 8):
            lanes[i] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        lanes = _keccak_f(lanes)
    return b"".join(lane.to_bytes(8, "little") for lane in lanes[:4])


def eip55_valid(address: str) -> bool:
    """True when a ``0x`` + 40-hex address is all-lower, all-upper, or EIP-55 checksummed."""
    if len(address) != 42 or address[:2] != "0x":
        return False
    body = address[2:]
    if any(ch not in "0123456789abcdefABCDEF" for ch in body):
        return False
    if body == body.lower() or body == body.upper():
        return True
    digest = keccak_256(body.lower().encode("ascii")).hex()
    for ch, h in zip(body, digest[: len(body)], strict=True):
        if ch.isalpha() and ch.isupper() != (int(h, 16) >= 8):
            return False
    return True


_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_digit_valid(vin: str) -> bool:
    """True when the 9th character is the ISO 3779 / FMVSS 115 check digit of a 17-char VIN."""
    if len(vin) != 17:
        return False
    try:
        total = sum(_VIN_VALUES[ch] * w for ch, w in zip(vin, _VIN_WEIGHTS, strict=True))
    except KeyError:
        return False
    rem = total % 11
    return vin[8] == ("X" if rem == 10 else str(rem))
