"""Safety-net detectors: valid values found with exact offsets, near-misses rejected."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pytest
from faker import Faker

from pii_gemini._exceptions import ConfigError
from pii_gemini._types import Span
from pii_gemini.detectors import (
    DETECTORS,
    SAFETY_NET_LABEL_MAPS,
    DateOfBirthDetector,
    Detector,
    PhoneDetector,
    RegexDetector,
    SafetyNet,
    SafetyNetResult,
    VinDetector,
    get_detector,
    register_detector,
    resolve_overlaps,
)


def _found(detector: Detector, text: str) -> list[str]:
    spans = list(detector.find(text))
    for s in spans:  # offsets point into the text given
        assert text[s.start : s.end] == s.value
        assert s.label == detector.label
    return [s.value for s in spans]


def _bump_digit(value: str, nth: int) -> str:
    idx = [i for i, ch in enumerate(value) if ch.isdigit()][nth]
    return value[:idx] + str((int(value[idx]) + 1) % 10) + value[idx + 1 :]


# (detector name, values it must find, near-misses it must not report)
CASES: list[tuple[str, list[str], list[str]]] = [
    (
        "email",
        ["jane.doe@example.org", "a_b+tag@mail.example.co.uk", "X9@sub-domain.io"],
        ["jane..doe@example.org", ".jane@example.org", "jane@-example.org", "jane@example.c0m"],
    ),
    (
        "url",
        ["https://example.com/a?b=1", "http://10.0.0.1:8080/x", "www.example.org/path"],
        ["https://exa mple", "http://example.com:99999/", "https://-bad-.c/"],
    ),
    (
        "ipv4",
        ["192.168.1.1", "8.8.8.8", "255.255.255.255"],
        ["256.1.1.1", "192.168.1", "01.2.3.4", "1.2.3.4.5"],
    ),
    (
        "ipv6",
        ["2001:db8::1", "fe80::1ff:fe23:4567:890a", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"],
        ["2001:db8:::1", "12:30:45", "2001:db8:85a3:0:0:8a2e:370:7334:1"],
    ),
    (
        "mac",
        ["00:1A:2B:3C:4D:5E", "08-7a-81-2f-48-fd", "0011.22aa.bbcc"],
        ["00:1A:2B:3C:4D", "00:1A-2B:3C:4D:5E", "00:1A:2B:3C:4D:5G"],
    ),
    (
        "iban",
        ["DE89370400440532013000", "GB82 WEST 1234 5698 7654 32", "FR1420041010050500013M02606"],
        ["DE89370400440532013001", "GB82WEST1234569876543", "XX89370400440532013000"],
    ),
    (
        "credit_card",
        ["4111 1111 1111 1111", "378282246310005", "5555-5555-5555-4444"],
        ["4111 1111 1111 1112", "1234567812345670", "4111 1111-1111 1111"],
    ),
    (
        "bitcoin",
        ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"],
        ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"],
    ),
    (
        "ethereum",
        ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x" + "ab" * 20],
        ["0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x" + "ab" * 19, "0x" + "g1" * 20],
    ),
    ("vin", ["1M8GDM9AXKP042788", "1HGCM82633A004352"], ["1M8GDM9AXKP042789", "1HGCM82633A0043I2"]),
    ("ssn", ["219-09-9998", "536 22 1234"], ["000-12-3456", "666-12-3456", "912-12-3456",
                                             "219-00-1234", "219-12-0000", "219-12 3456"]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "valid", "invalid"), CASES, ids=[c[0] for c in CASES])
def test_detector_valid_and_invalid(name: str, valid: list[str], invalid: list[str]) -> None:
    detector = get_detector(name)
    for value in valid:
        text = f"Record: {value}. End"
        assert _found(detector, text) == [value], value
        assert _found(detector, value) == [value], value
    for value in invalid:
        assert _found(detector, f"Record: {value}. End") == [], value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("iban", "DE89370400440532013000"),
        ("credit_card", "4111111111111111"),
        ("vin", "1M8GDM9AXKP042788"),
        ("bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
    ],
)
def test_checksums_reject_every_one_digit_change(name: str, value: str) -> None:
    detector = get_detector(name)
    n_digits = sum(ch.isdigit() for ch in value)
    for nth in range(n_digits):
        near = _bump_digit(value, nth)
        assert not _found(detector, f"Code {near} here"), near  # no cue word: checksum only


@pytest.mark.parametrize("seed", range(5))
def test_faker_generated_values_are_found(seed: int) -> None:
    fake = Faker("en_US")
    fake.seed_instance(seed)
    values = {
        "email": fake.email(),
        "ipv4": fake.ipv4(),
        "ipv6": fake.ipv6(),
        "mac": fake.mac_address(),
        "iban": fake.iban(),
        "credit_card": fake.credit_card_number(card_type="visa16"),
        "ssn": fake.ssn(),
        "url": fake.url(),
    }
    for name, value in values.items():
        assert _found(get_detector(name), f"value: {value} ok") == [value], (name, value)


def test_iban_stops_at_country_length_and_continues() -> None:
    text = "IBAN DE89 3704 0044 0532 0130 00 AND GB82WEST12345698765432."
    assert _found(get_detector("iban"), text) == [
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
    ]


def test_url_trims_trailing_punctuation_and_unbalanced_brackets() -> None:
    det = get_detector("url")
    assert _found(det, "See (https://example.com/a_(b)).") == ["https://example.com/a_(b)"]
    assert _found(det, "Go to https://example.com, then") == ["https://example.com"]
    assert _found(det, "bare example.com is not reported") == []


def test_ipv4_skips_version_strings() -> None:
    assert _found(get_detector("ipv4"), "release v1.2.3.4 and 10.0.0.1") == ["10.0.0.1"]


def test_vin_without_check_digit_needs_cue() -> None:
    det = VinDetector()
    european = "WVWZZZ1JZ3W386752"  # no check digit in position 9
    assert _found(det, f"car {european} sold") == []
    assert _found(det, f"VIN: {european}") == [european]
    assert _found(VinDetector(cue_window=3), f"VIN number is {european}") == []
    assert _found(det, "VIN 12345678901234567") == []  # digits only: not a VIN


def test_ssn_unseparated_needs_cue() -> None:
    det = get_detector("ssn")
    assert _found(det, "order 219099998 shipped") == []
    assert _found(det, "SSN 219099998") == ["219099998"]
    assert _found(det, "SSN 078-05-1120") == []  # the famous Woolworth card number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She was born on 12 March 1985 in Leeds", ["12 March 1985"]),
        ("DOB: 1985-03-12", ["1985-03-12"]),
        ("Date of birth 03/12/1985", ["03/12/1985"]),
        ("birthday: March 12th, 1985", ["March 12th, 1985"]),
        ("Il est né le 3 avril 1970 à Lyon", ["3 avril 1970"]),
        ("geboren am 24.12.1969", ["24.12.1969"]),
        ("nata il 5 maggio 1990", ["5 maggio 1990"]),
        ("[DATE_OF_BIRTH]: 1954-01-13", ["1954-01-13"]),
        ("DOB: 13/25/1985", []),  # neither day-first nor month-first is a date
        ("DOB: 29/02/1999", []),  # not a leap year
        ("born 12/03/2999", []),  # in the future
        ("Meeting on 12 March 1985 at noon", []),  # no birth cue
        ("born in Paris, and much later, on a sunny day, on 12 March 1985", []),  # cue too far
    ],
)
def test_dob_detector(text: str, expected: list[str]) -> None:
    assert _found(DateOfBirthDetector(), text) == expected


def test_phone_detector_uses_libphonenumber() -> None:
    det = PhoneDetector()
    text = "Call +1 650-253-0000, 020 7946 0958 or 01 23 45 67 89; not 123-456."
    assert _found(det, text) == ["+1 650-253-0000", "020 7946 0958", "01 23 45 67 89"]
    assert _found(det, "Call +1 650-253-000 now") == []  # too short to be valid
    assert _found(PhoneDetector(regions=["US"]), "Call 01 23 45 67 89") == []


@pytest.mark.parametrize("regions", [[], "US", ["XX"]])
def test_phone_detector_rejects_bad_regions(regions: object) -> None:
    with pytest.raises(ConfigError):
        PhoneDetector(regions=regions)  # type: ignore[arg-type]


def test_candidates_are_unvalidated_superset() -> None:
    det = get_detector("credit_card")
    text = "cards 4111 1111 1111 1111 and 4111 1111 1111 1112"
    assert [s.value for s in det.candidates(text)] == ["4111 1111 1111 1111", "4111 1111 1111 1112"]
    assert _found(det, text) == ["4111 1111 1111 1111"]


def test_resolve_overlaps_longest_then_earliest_any_order() -> None:
    a, b, c, d = Span(0, 10, "URL"), Span(5, 8, "EMAIL"), Span(9, 14, "IPV4"), Span(20, 25, "X")
    e, f = Span(30, 34, "A"), Span(32, 36, "B")  # equal length: the earliest wins
    expected = (a, d, e)
    assert resolve_overlaps([a, b, c, d, e, f]) == expected
    assert resolve_overlaps([f, e, d, c, b, a]) == expected


TEXT = (
    "Hi, I am Jane. Mail jane.doe@example.org or call +1 650-253-0000. "
    "Card 4111 1111 1111 1111, IBAN DE89370400440532013000, born on 12 March 1985."
)


def test_safety_net_scan_skips_model_spans() -> None:
    net = SafetyNet()
    found = net.scan(TEXT)
    labels = [s.label for s in found]
    assert labels == ["EMAIL", "PHONENUMBER", "CREDITCARDNUMBER", "IBAN", "DOB"]
    email = found[0]
    model = [Span(email.start + 2, email.start + 6, "EMAIL"), Span(9, 13, "FIRSTNAME")]
    rest = net.scan(TEXT, model)
    assert [s.label for s in rest] == labels[1:]


def test_safety_net_apply_merges_and_counts() -> None:
    net = SafetyNet(["email", "credit_card"])
    model = (Span(9, 13, "FIRSTNAME", "Jane"),)
    result = net.apply(TEXT, model)
    assert isinstance(result, SafetyNetResult)
    assert [s.label for s in result.spans] == ["FIRSTNAME", "EMAIL", "CREDITCARDNUMBER"]
    assert result.caught == 2
    assert result.caught_by_label == {"EMAIL": 1, "CREDITCARDNUMBER": 1}
    assert [s.start for s in result.spans] == sorted(s.start for s in result.spans)
    assert model[0] in result.spans


def test_safety_net_apply_rejects_spans_outside_text() -> None:
    with pytest.raises(ConfigError, match="outside"):
        SafetyNet(["email"]).apply("short", [Span(0, 50, "EMAIL")])


def test_safety_net_labels_map() -> None:
    text = "tel +1 650-253-0000, SSN 219-09-9998"
    assert [s.label for s in SafetyNet(["phone", "ssn"], labels_map="400k").scan(text)] == [
        "TELEPHONENUM",
        "SOCIALNUM",
    ]
    custom = SafetyNet(["ssn"], labels_map={"SSN": "US_SSN"}).scan(text)
    assert [s.label for s in custom] == ["US_SSN"]
    assert set(SAFETY_NET_LABEL_MAPS) == {"200k", "300k", "400k", "500k"}
    with pytest.raises(ConfigError, match="labels_map"):
        SafetyNet(labels_map="999k")


def test_safety_net_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="unknown detector"):
        SafetyNet(["nope"])
    with pytest.raises(ConfigError, match="Detector"):
        SafetyNet([object()])  # type: ignore[list-item]
    with pytest.raises(ConfigError, match="str"):
        SafetyNet(["email"]).scan(b"bytes")  # type: ignore[arg-type]


def test_default_safety_net_has_every_builtin_and_no_false_positive_on_plain_text() -> None:
    net = SafetyNet()
    assert {d.name for d in net.detectors} == {
        "email", "url", "ipv4", "ipv6", "mac", "iban", "credit_card", "bitcoin", "ethereum",
        "vin", "ssn", "dob", "phone",
    }  # fmt: skip
    plain = (
        "The meeting at 10:30 on 2024-05-01 covered version 1.2.3, item 42 and the C++ "
        "std::vector API. Budget: 1,250,000 EUR; ratio 3:2; see section 4.5.6."
    )
    assert net.scan(plain) == ()
    assert "SafetyNet(detectors=[email" in repr(net)


def test_builtin_detectors_keep_their_module_names_and_order() -> None:
    # Masker cache keys and resumed output files name each detector by module, class and
    # position: they must not change when the code moves.
    net = SafetyNet()
    assert {type(d).__module__ for d in net.detectors} == {"pii_gemini.detectors"}
    assert [d.name for d in net.detectors] == [
        "email", "url", "ipv4", "ipv6", "mac", "iban", "credit_card", "bitcoin", "ethereum",
        "vin", "ssn", "dob", "phone",
    ]  # fmt: skip
    assert list(DETECTORS)[: len(net.detectors)] == [d.name for d in net.detectors]


def test_register_custom_detector() -> None:
    class EmployeeId(RegexDetector):
        name = "test_employee_id"
        label = "EMPLOYEEID"
        pattern = re.compile(r"\bEMP-\d{6}\b")

    try:
        assert register_detector(EmployeeId) is EmployeeId
        net = SafetyNet(["test_employee_id", "email"])
        assert [(s.label, s.value) for s in net.scan("id EMP-123456 ok")] == [
            ("EMPLOYEEID", "EMP-123456")
        ]
    finally:
        DETECTORS.pop("test_employee_id", None)


@pytest.mark.parametrize("bad", [int, type("NoName", (RegexDetector,), {"label": "X"})])
def test_register_detector_rejects_bad_classes(bad: type) -> None:
    with pytest.raises(ConfigError):
        register_detector(bad)


def _labels(spans: Iterable[Span]) -> list[str]:
    return [s.label for s in spans]


def test_overlapping_detector_hits_resolved_deterministically() -> None:
    text = "see https://192.168.1.1/admin now"  # URL contains an IPv4: the longer one wins
    assert _labels(SafetyNet().scan(text)) == ["URL"]


def test_module_docstring_example_runs() -> None:
    import doctest

    from pii_gemini import detectors

    assert doctest.testmod(detectors).failed == 0


@pytest.mark.parametrize("text", ["Row 1640 was updated", "see case 98765 today", "ticket 12-345"])
def test_phone_detector_ignores_short_digit_runs(text: str) -> None:
    from pii_gemini.detectors import PhoneDetector

    assert list(PhoneDetector().find(text)) == []


def test_phone_detector_still_finds_full_numbers() -> None:
    from pii_gemini.detectors import PhoneDetector

    text = "Call +44 20 7946 0958 or (212) 555-0147."
    found = [(s.start, s.end) for s in PhoneDetector().find(text)]
    assert (5, 21) in found
