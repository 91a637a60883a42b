"""Value pools of the synthetic data generator: Faker locales, value makers and vocabularies.

For each label and language, ``_pools`` draws a fixed number of values once, with seeded
Faker instances of the language's locales (cached), so ``pii_gemini.synthetic`` can build
any number of rows with numpy indexing. Labels Faker does not cover (or covers badly) come
from fixed vocabularies.
"""

from __future__ import annotations

import datetime as _dt
import functools
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["LOCALES", "REFERENCE_DAY"]

REFERENCE_DAY = _dt.date(2026, 1, 1)
"""The "today" generated dates, birth dates and times are drawn around (Faker's default is
the clock, which made the same seed give other rows on another day, or second)."""
_REFERENCE_MOMENT = _dt.datetime.combine(REFERENCE_DAY, _dt.time())

LOCALES: dict[str, tuple[str, ...]] = {
    "en": ("en_US", "en_GB"),
    "fr": ("fr_FR",),
    "de": ("de_DE",),
    "it": ("it_IT",),
}
"""Faker locales used for each supported language (values are split evenly between them)."""

# Fixed vocabularies for labels Faker does not cover (or covers badly, e.g. fr_FR prefix()).
_PREFIXES = {
    "en": ("Mr.", "Mrs.", "Ms.", "Miss", "Dr.", "Mx.", "Prof."),
    "fr": ("M.", "Mme", "Mlle", "Dr", "Pr"),
    "de": ("Herr", "Frau", "Dr.", "Prof."),
    "it": ("Sig.", "Sig.ra", "Dott.", "Dott.ssa", "Prof."),
}
_GENDERS = (
    "Male",
    "Female",
    "Non-binary",
    "Intersex person",
    "Transgender woman",
    "Transgender man",
    "Genderqueer",
    "Agender",
)
_SEXES = ("male", "female", "M", "F", "Male", "Female")
_EYECOLORS = ("Blue", "Brown", "Green", "Hazel", "Grey", "Amber", "Black")
_JOBAREAS = (
    "Optimization",
    "Factors",
    "Research",
    "Security",
    "Markets",
    "Branding",
    "Accounts",
    "Infrastructure",
    "Quality",
    "Mobility",
    "Tactics",
    "Usability",
)
_JOBTYPES = (
    "Manager",
    "Engineer",
    "Specialist",
    "Coordinator",
    "Consultant",
    "Analyst",
    "Technician",
    "Architect",
    "Designer",
    "Administrator",
)
_ACCOUNTNAMES = (
    "Savings Account",
    "Checking Account",
    "Investment Account",
    "Personal Loan Account",
    "Credit Card Account",
    "Money Market Account",
)
_DIRECTIONS = ("North", "South", "East", "West", "Northeast", "Northwest", "Southeast", "Southwest")
_CURRENCY_SYMBOLS = ("£", "$", "€", "¥", "₹", "₣", "₽")
_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%B %d, %Y", "%d.%m.%Y", "%m/%d/%Y")
_TIME_FORMATS = ("%H:%M", "%I:%M %p", "%H:%M:%S", "%I %p")
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


# AGE as ai4privacy writes it: "34", "88 years", "34 years old" (and the other languages' forms)
_AGE_FORMS: dict[str, tuple[str, ...]] = {
    "en": ("{}", "{} years", "{} years old"),
    "fr": ("{}", "{} ans"),
    "de": ("{}", "{} Jahre", "{} Jahre alt"),
    "it": ("{}", "{} anni"),
}


def _age_form(lang: str, years: int) -> str:
    """An age in one of the language's forms, chosen by the number (no extra random draw,
    so the other labels' values stay what they were)."""
    forms = _AGE_FORMS[lang]
    return forms[years % len(forms)].format(years)


def _time_form(moment: Any, fmt: str) -> str:
    """A time in ``fmt``, or a bare hour ("20", as ai4privacy has) for one minute in ten."""
    return str(moment.hour) if moment.minute % 10 == 0 else str(moment.strftime(fmt))


def _years_ago(years: int) -> _dt.date:
    """The reference day ``years`` years earlier (later when negative); 29 February -> 28."""
    try:
        return REFERENCE_DAY.replace(year=REFERENCE_DAY.year - years)
    except ValueError:
        return REFERENCE_DAY.replace(year=REFERENCE_DAY.year - years, day=28)


def _first_method(fake: Any, *names: str) -> Callable[[], Any]:
    """The first Faker provider method the locale has (e.g. state/region differ by country)."""
    for name in names:
        method = getattr(fake, name, None)
        if method is not None:
            return method  # type: ignore[no-any-return]
    raise AttributeError(names[0])  # pragma: no cover - every locale has the last fallback


def _value_makers(fake: Any, lang: str) -> dict[str, Callable[[], str]]:
    """One zero-argument value factory per label, bound to a seeded Faker instance."""
    r: random.Random = fake.random  # the Faker instance's seeded random.Random

    def pick(seq: Sequence[str]) -> Callable[[], str]:
        return lambda: r.choice(seq)

    def digits(lo: int, hi: int) -> Callable[[], str]:
        return lambda: "".join(r.choice(string.digits) for _ in range(r.randint(lo, hi)))

    def date() -> str:
        day = fake.date_between(_years_ago(5), _years_ago(-1))
        return str(day.strftime(r.choice(_DATE_FORMATS)))

    def dob() -> str:  # aged 1 to 95 on the reference day
        day = fake.date_between(_years_ago(96) + _dt.timedelta(days=1), _years_ago(1))
        return str(day.strftime(r.choice(_DATE_FORMATS)))

    def amount() -> str:
        value = r.choice((r.uniform(1, 999), r.uniform(1_000, 999_999), float(r.randint(5, 5000))))
        return r.choice((f"{value:.2f}", f"{value:,.2f}", f"{value:.0f}"))

    def height() -> str:
        cm = r.randint(140, 205)
        inches = round(cm / 2.54)
        return r.choice(
            (f"{cm} cm", f"{cm}centimeters", f"{cm / 100:.2f} m", f"{inches // 12}'{inches % 12}\"")
        )

    def imei() -> str:
        d = "".join(r.choice(string.digits) for _ in range(15))
        return f"{d[:2]}-{d[2:8]}-{d[8:14]}-{d[14]}"

    def base58(prefixes: Sequence[str], lo: int, hi: int) -> Callable[[], str]:
        return lambda: (
            r.choice(prefixes) + "".join(r.choice(_BASE58) for _ in range(r.randint(lo, hi)))
        )

    def gps() -> str:
        return f"[{r.uniform(-90, 90):.4f}, {r.uniform(-180, 180):.4f}]"

    def masked_number() -> str:
        return r.choice(("XXXX-XXXX-XXXX-", "****", "**** **** **** ")) + digits(4, 4)()

    def county() -> str:
        if lang == "en":
            return f"{fake.last_name()} County"
        return str(_first_method(fake, "administrative_unit", "region", "state", "city")())

    state = _first_method(fake, "state", "administrative_unit", "region", "city")
    city: Callable[[], str] = fake.city
    cities = getattr(getattr(fake.city, "__self__", None), "cities", None)
    if isinstance(cities, list):
        # it_IT builds its city list from a set: its order (and so fake.city()) changed with
        # the process's hash seed; the same seed must give the same rows
        city = pick(sorted(cities))
    secondary = getattr(fake, "secondary_address", None)
    if secondary is None:
        secondary = lambda: r.choice(("Apt. ", "Bât. ", "Etage ", "Suite ")) + digits(1, 3)()  # noqa: E731

    return {
        "ACCOUNTNAME": pick(_ACCOUNTNAMES),
        "ACCOUNTNUMBER": digits(8, 12),
        "AGE": lambda: _age_form(lang, r.randint(1, 95)),
        "AMOUNT": amount,
        "BIC": fake.swift,
        "BITCOINADDRESS": base58(("1", "3"), 25, 33),
        "BUILDINGNUMBER": fake.building_number,
        "CITY": city,
        "COMPANYNAME": fake.company,
        "COUNTY": county,
        "CREDITCARDCVV": fake.credit_card_security_code,
        "CREDITCARDISSUER": lambda: fake.credit_card_provider().split(" ")[0],
        "CREDITCARDNUMBER": fake.credit_card_number,  # Luhn-valid
        "CURRENCY": fake.currency_name,
        "CURRENCYCODE": fake.currency_code,
        "CURRENCYNAME": fake.currency_name,
        "CURRENCYSYMBOL": pick(_CURRENCY_SYMBOLS),
        "DATE": date,
        "DOB": dob,
        "EMAIL": fake.email,
        "ETHEREUMADDRESS": lambda: "0x" + fake.hexify("^" * 40),
        "EYECOLOR": pick(_EYECOLORS),
        "FIRSTNAME": fake.first_name,
        "GENDER": pick(_GENDERS),
        "HEIGHT": height,
        "IBAN": fake.iban,
        "IP": lambda: fake.ipv4() if r.random() < 0.5 else fake.ipv6(),
        "IPV4": fake.ipv4,
        "IPV6": fake.ipv6,
        "JOBAREA": pick(_JOBAREAS),
        "JOBTITLE": fake.job,
        "JOBTYPE": pick(_JOBTYPES),
        "LASTNAME": fake.last_name,
        "LITECOINADDRESS": base58(("L", "M"), 32, 33),
        "MAC": fake.mac_address,
        "MASKEDNUMBER": masked_number,
        "MIDDLENAME": fake.first_name,
        "NEARBYGPSCOORDINATE": gps,
        "ORDINALDIRECTION": pick(_DIRECTIONS),
        "PASSWORD": lambda: fake.password(length=r.randint(8, 16)),
        "PHONEIMEI": imei,
        "PHONENUMBER": fake.phone_number,
        "PIN": digits(4, 6),
        "PREFIX": pick(_PREFIXES[lang]),
        "SECONDARYADDRESS": secondary,
        "SEX": pick(_SEXES),
        "SSN": fake.ssn,
        "STATE": state,
        "STREET": fake.street_name,
        "TIME": lambda: _time_form(
            fake.date_time(end_datetime=_REFERENCE_MOMENT), r.choice(_TIME_FORMATS)
        ),
        "URL": fake.url,
        "USERAGENT": fake.user_agent,
        "USERNAME": fake.user_name,
        "VEHICLEVIN": fake.vin,
        "VEHICLEVRM": fake.license_plate,
        "ZIPCODE": fake.postcode,
    }


@dataclass(frozen=True)
class _Pool:
    """Pre-drawn values of one label in one language."""

    values: npt.NDArray[np.object_]
    lengths: npt.NDArray[np.int64]
    reprs: npt.NDArray[np.object_]  # repr(value), for the legacy dict-repr privacy_mask


@functools.lru_cache(maxsize=32)
def _pools(lang: str, seed: int, size: int, labels: frozenset[str]) -> dict[str, _Pool]:
    """Draw ``size`` values per label with seeded Faker instances of the language's locales."""
    from faker import Faker  # imported lazily: Faker's import is slow-ish and only needed here

    locales = LOCALES[lang]
    per_locale = [size // len(locales) + (i < size % len(locales)) for i in range(len(locales))]
    drawn: dict[str, list[str]] = {label: [] for label in sorted(labels)}
    for locale, count in zip(locales, per_locale, strict=True):
        fake = Faker(locale)
        fake.seed_instance(seed)
        makers = _value_makers(fake, lang)
        for label in sorted(labels):
            make = makers[label]
            out = drawn[label]
            for _ in range(count):
                value = " ".join(str(make()).split())  # one line, no edge whitespace
                out.append(value or "x")
    pools = {}
    for label, values in drawn.items():
        arr = np.array(values, dtype=object)
        pools[label] = _Pool(
            values=arr,
            lengths=np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values)),
            reprs=np.array([repr(v) for v in values], dtype=object),
        )
    return pools
