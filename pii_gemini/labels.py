"""PII label sets of the ai4privacy dataset versions, and label normalisation.

Each ai4privacy release uses its own label vocabulary (200k: 56 raw labels; 300k: 28
placeholders such as ``GIVENNAME1``; 400k: 17; open-pii-masking-500k: 20). Masked texts
carry labels as placeholders: ``[LABEL]`` (current schemas) or ``[LABEL_N]`` (the original
200k schema, where ``N`` counts occurrences of a label within one text).

Note the two kinds of digits: in ``[GIVENNAME1]`` the digit is part of the 300k label, in
``[FIRSTNAME_1]`` the ``_1`` is an occurrence index that :func:`normalize_label` drops.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ._exceptions import ConfigError

__all__ = [
    "ALL_LABELS",
    "LABELS_200K",
    "LABELS_300K",
    "LABELS_400K",
    "LABELS_500K",
    "LABEL_SETS",
    "PLACEHOLDER_RE",
    "normalize_label",
]

LABELS_200K: frozenset[str] = frozenset(
    {
        "ACCOUNTNAME", "ACCOUNTNUMBER", "AGE", "AMOUNT", "BIC", "BITCOINADDRESS",
        "BUILDINGNUMBER", "CITY", "COMPANYNAME", "COUNTY", "CREDITCARDCVV", "CREDITCARDISSUER",
        "CREDITCARDNUMBER", "CURRENCY", "CURRENCYCODE", "CURRENCYNAME", "CURRENCYSYMBOL", "DATE",
        "DOB", "EMAIL", "ETHEREUMADDRESS", "EYECOLOR", "FIRSTNAME", "GENDER", "HEIGHT", "IBAN",
        "IP", "IPV4", "IPV6", "JOBAREA", "JOBTITLE", "JOBTYPE", "LASTNAME", "LITECOINADDRESS",
        "MAC", "MASKEDNUMBER", "MIDDLENAME", "NEARBYGPSCOORDINATE", "ORDINALDIRECTION",
        "PASSWORD", "PHONEIMEI", "PHONENUMBER", "PIN", "PREFIX", "SECONDARYADDRESS", "SEX", "SSN",
        "STATE", "STREET", "TIME", "URL", "USERAGENT", "USERNAME", "VEHICLEVIN", "VEHICLEVRM",
        "ZIPCODE",
    }
)  # fmt: skip
"""The 56 raw labels of ai4privacy/pii-masking-200k (``pii_class_counts.json``)."""

LABELS_300K: frozenset[str] = frozenset(
    {
        "BOD", "BUILDING", "CARDISSUER", "CITY", "COUNTRY", "DATE", "DRIVERLICENSE", "EMAIL",
        "GEOCOORD", "GIVENNAME1", "GIVENNAME2", "IDCARD", "IP", "LASTNAME1", "LASTNAME2",
        "LASTNAME3", "PASS", "PASSPORT", "POSTCODE", "SECADDRESS", "SEX", "SOCIALNUMBER", "STATE",
        "STREET", "TEL", "TIME", "TITLE", "USERNAME",
    }
)  # fmt: skip
"""The placeholders of ai4privacy/pii-masking-300k (in GIVENNAME1 the digit is in the label)."""

LABELS_400K: frozenset[str] = frozenset(
    {
        "ACCOUNTNUM", "BUILDINGNUM", "CITY", "CREDITCARDNUMBER", "DATEOFBIRTH",
        "DRIVERLICENSENUM", "EMAIL", "GIVENNAME", "IDCARDNUM", "PASSWORD", "SOCIALNUM", "STREET",
        "SURNAME", "TAXNUM", "TELEPHONENUM", "USERNAME", "ZIPCODE",
    }
)  # fmt: skip
"""The 17 public labels of ai4privacy/pii-masking-400k."""

LABELS_500K: frozenset[str] = frozenset(
    {
        "AGE", "BUILDINGNUM", "CITY", "CREDITCARDNUMBER", "DATE", "DRIVERLICENSENUM", "EMAIL",
        "GENDER", "GIVENNAME", "IDCARDNUM", "PASSPORTNUM", "SEX", "SOCIALNUM", "STREET", "SURNAME",
        "TAXNUM", "TELEPHONENUM", "TIME", "TITLE", "ZIPCODE",
    }
)  # fmt: skip
"""The 20 labels of the open-pii-masking-500k "Open PII Labelset"."""

ALL_LABELS: frozenset[str] = LABELS_200K | LABELS_300K | LABELS_400K | LABELS_500K
"""Every label known to any ai4privacy version."""

LABEL_SETS: Mapping[str, frozenset[str]] = {
    "200k": LABELS_200K,
    "300k": LABELS_300K,
    "400k": LABELS_400K,
    "500k": LABELS_500K,
}
"""Label set per dataset version name."""

PLACEHOLDER_RE: re.Pattern[str] = re.compile(r"\[([A-Z][A-Z0-9]*)(?:_(\d+))?\]")
"""Matches ``[LABEL]`` and ``[LABEL_N]``; group 1 is the label, group 2 the index or None.

``[FIRSTNAME_1]`` gives ``FIRSTNAME`` + ``1`` while ``[GIVENNAME1]`` gives ``GIVENNAME1``
(no underscore, so the digit belongs to the label). The label class can never take the
``_`` or ``]`` that ends it, so it is greedy: the same matches as a lazy label, scanned
about 40% faster (tests/test_align.py checks the two agree).
Lower-case or spaced brackets such as ``[sic]`` or ``[urgent]`` are not placeholders.
"""

_LABEL_RE = re.compile(r"([A-Z][A-Z0-9]*?)(?:_(\d+))?")


def normalize_label(label: str) -> str:
    """Return the bare label: brackets, whitespace and the ``_N`` index removed, upper-cased.

    ``"[FIRSTNAME_1]"`` -> ``"FIRSTNAME"``, ``"givenname1"`` -> ``"GIVENNAME1"``.
    Raises ConfigError for something that is not a label (empty, other characters).
    """
    if not isinstance(label, str):
        raise ConfigError(f"a label must be a string, got {type(label).__name__}")
    s = label.strip()
    if s.startswith("[") and s.endswith("]"):
        s = s[1:-1].strip()
    m = _LABEL_RE.fullmatch(s.upper())
    if m is None:
        raise ConfigError(
            f"not a PII label: expected LABEL or [LABEL_N] of letters/digits ({len(label)} chars)"
        )
    return m.group(1)
