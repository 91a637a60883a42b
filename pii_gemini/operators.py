"""Operators: what to put in place of each PII span (presidio-anonymizer style).

:func:`anonymize` applies one operator - or one per label - to the spans of a source text
and returns the new text with the position of every replacement. Built-ins:

=============  ===========================================================  ==========
name           output                                                       reversible
=============  ===========================================================  ==========
``replace``    ``[LABEL]`` (ai4privacy style) or ``new_value``              no
``numbered``   ``[LABEL_N]``, the same N for the same value                 yes (vault)
``redact``     nothing                                                      no
``mask_chars`` ``char`` repeated, the last ``keep_last`` characters kept    no
``hash``       HMAC-SHA256 hex of the value under the user's ``key``        no
``surrogate``  a Faker value of the same kind, same value -> same surrogate  yes (vault)
=============  ===========================================================  ==========

    >>> from pii_gemini._types import Span
    >>> out = anonymize("Hi Ann, bye Ann", [Span(3, 6, "FIRSTNAME"), Span(12, 15, "FIRSTNAME")],
    ...                 "numbered")
    >>> out.text
    'Hi [FIRSTNAME_1], bye [FIRSTNAME_1]'
    >>> unmask(out.text, out.vault)
    'Hi Ann, bye Ann'

Add an operator by subclassing :class:`Operator` and calling :func:`register_operator`.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ._exceptions import ConfigError
from ._types import Span
from ._vaulttext import find_all
from .vault import Vault, unmask

if TYPE_CHECKING:
    from faker import Faker

__all__ = [
    "DEFAULT_OPERATOR_KEY",
    "MIN_HASH_KEY_BYTES",
    "OPERATORS",
    "SURROGATE_PROVIDERS",
    "Anonymized",
    "AnonymizedItem",
    "HashOperator",
    "MaskCharsOperator",
    "NumberedOperator",
    "Operator",
    "OperatorContext",
    "RedactOperator",
    "ReplaceOperator",
    "SurrogateOperator",
    "anonymize",
    "get_operator",
    "register_operator",
    "unmask",
]

DEFAULT_OPERATOR_KEY = "DEFAULT"
"""Key of a per-label operator dict used for labels not listed (otherwise ``replace``)."""


@dataclass
class OperatorContext:
    """What an operator may use besides the value: the call's params, the vault, the
    whole source text, and a per-call scratch dict (caches)."""

    params: Mapping[str, Any]
    vault: Vault | None
    source: str = field(repr=False)
    state: dict[str, Any] = field(default_factory=dict, repr=False)


class Operator(ABC):
    """Turns one PII value into its replacement.

    ``name`` is the registry key, ``param_names`` the keyword parameters it accepts (others
    passed to :func:`anonymize` are rejected unless another operator of the call takes
    them), ``reversible`` says whether it records tokens in a vault.
    """

    name: ClassVar[str]
    param_names: ClassVar[frozenset[str]] = frozenset()
    reversible: ClassVar[bool] = False

    def validate(self, params: Mapping[str, Any]) -> None:  # noqa: B027 - optional hook
        """Raise ConfigError for bad parameter values (called before anything is applied)."""

    @abstractmethod
    def apply(self, value: str, label: str, ctx: OperatorContext) -> str:
        """The replacement text for ``value`` of type ``label``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


OPERATORS: dict[str, type[Operator]] = {}
"""Registry: operator name -> class."""

_O = TypeVar("_O", bound=type[Operator])


def register_operator(cls: _O) -> _O:
    """Register an Operator subclass under its ``name`` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Operator)):
        raise ConfigError("register_operator expects an Operator subclass")
    if not isinstance(getattr(cls, "name", None), str) or not cls.name:
        raise ConfigError(f"operator class {cls.__name__} needs a non-empty 'name'")
    OPERATORS[cls.name] = cls
    return cls


def get_operator(name: str) -> Operator:
    """An instance of the registered operator ``name``."""
    try:
        return OPERATORS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown operator {name!r}; known: {', '.join(sorted(OPERATORS))}"
        ) from None


def _need_vault(ctx: OperatorContext) -> Vault:
    if ctx.vault is None:  # anonymize always passes one to reversible operators
        raise ConfigError("this operator needs a vault")
    return ctx.vault


@register_operator
class ReplaceOperator(Operator):
    """``[LABEL]``, or ``new_value`` for every span when given."""

    name = "replace"
    param_names = frozenset({"new_value"})

    def validate(self, params: Mapping[str, Any]) -> None:
        new_value = params.get("new_value")
        if new_value is not None and not isinstance(new_value, str):
            raise ConfigError("replace: new_value must be a str")

    def apply(self, value: str, label: str, ctx: OperatorContext) -> str:
        new_value = ctx.params.get("new_value")
        return f"[{label}]" if new_value is None else str(new_value)


@register_operator
class NumberedOperator(Operator):
    """``[LABEL_N]``: N counts distinct values per label; a value keeps its N wherever it
    appears (in the document, or across documents sharing the vault)."""

    name = "numbered"
    reversible = True

    def apply(self, value: str, label: str, ctx: OperatorContext) -> str:
        vault = _need_vault(ctx)
        avoid = ctx.state.get("placeholder_keys")
        if avoid is None:
            avoid = ctx.state["placeholder_keys"] = vault.placeholder_keys_in(ctx.source)
        return vault.placeholder(label, value, avoid=avoid)


@register_operator
class RedactOperator(Operator):
    """Removes the value (empty replacement)."""

    name = "redact"

    def apply(self, value: str, label: str, ctx: OperatorContext) -> str:
        return ""


@register_operator
class MaskCharsOperator(Operator):
    """Every character replaced by ``char`` (default ``*``) except the last ``keep_last``."""

    name = "mask_chars"
    param_names = frozenset({"char", "keep_last"})

    def validate(self, params: Mapping[str, Any]) -> None:
        char = params.get("char", "*")
        if not isinstance(char, str) or len(char) != 1:
            raise ConfigError("mask_chars: char must be a single character")
        keep = params.get("keep_last", 0)
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
            raise ConfigError("mask_chars: keep_last must be an int >= 0")

    def apply(self, value: str, label: str, ctx: OperatorContext) -> str:
        char = str(ctx.params.get("char", "*"))
        keep = min(int(ctx.params.get("keep_last", 0)), len(value))
        return char * (len(value) - keep) + value[len(value) - keep :]


#: Shortest ``hash`` key accepted, in bytes (UTF-8 for a str): 128 bits cannot be searched.
MIN_HASH_KEY_BYTES = 16


def _key_bytes(key: str | bytes) -> bytes:
    return key.encode("utf-8", "surrogatepass") if isinstance(key, str) else key


@register_operator
class HashOperator(Operator):
    """Hex HMAC-SHA256 of the value under ``key`` (required, at least 16 bytes), truncated
    to ``length`` (default 16) hex characters, i.e. 64 bits: a stable pseudonym per key.

    Without the key nobody can test a guess of a value against a digest: that is why the key
    must be secret and long (a short one could be found by trying keys on a guessed value).
    64 bits make accidental collisions negligible for pseudonyms (any two of 600,000 distinct
    values share a digest with odds of about 1 in 10^8); ask for more hex characters (up to
    64) when digests must stay unique over billions of values. Not reversible: no vault, no unmask.
    """

    name = "hash"
    param_names = frozenset({"key", "length"})

    def validate(self, params: Mapping[str, Any]) -> None:
        key = params.get("key")
        if not isinstance(key, (str, bytes)) or not key:
            raise ConfigError("hash: a non-empty key (str or bytes) is required")
        if len(_key_bytes(key)) < MIN_HASH_KEY_BYTES:
            raise ConfigError(
                f"hash: the key must be at least {MIN_HASH_KEY_BYTES} bytes (a shorter one "
                "could be guessed, and with it every value); use e.g. secrets.token_hex(16)"
            )
        length = params.get("length", 16)
        if isinstance(length, bool) or not isinstance(length, int) or not 8 <= length <= 64:
            raise ConfigError("hash: length must be an int between 8 and 64")

    def apply(self, value: str, label: str, ctx: OperatorContext) -> str:
        raw = _key_bytes(ctx.params["key"])
        digest = hmac.new(raw, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
        return digest[: int(ctx.params.get("length", 16))]


SURROGATE_PROVIDERS: dict[str, str] = {
    # ai4privacy 200k
    "FIRSTNAME": "first_name", "MIDDLENAME": "first_name", "LASTNAME": "last_name",
    "PREFIX": "prefix", "EMAIL": "email", "USERNAME": "user_name", "PHONENUMBER": "phone_number",
    "CITY": "city", "STATE": "state", "COUNTY": "city", "STREET": "street_name",
    "BUILDINGNUMBER": "building_number", "ZIPCODE": "postcode",
    "SECONDARYADDRESS": "secondary_address", "COMPANYNAME": "company", "JOBTITLE": "job",
    "URL": "url", "IPV4": "ipv4", "IPV6": "ipv6", "IP": "ipv4", "MAC": "mac_address",
    "IBAN": "iban", "BIC": "swift", "ACCOUNTNUMBER": "bban",
    "CREDITCARDNUMBER": "credit_card_number", "CREDITCARDCVV": "credit_card_security_code",
    "CREDITCARDISSUER": "credit_card_provider", "SSN": "ssn", "DATE": "date", "DOB": "date",
    "TIME": "time", "USERAGENT": "user_agent", "PASSWORD": "password",
    "CURRENCYCODE": "currency_code", "CURRENCYNAME": "currency_name",
    "VEHICLEVRM": "license_plate", "CURRENCYSYMBOL": "currency_symbol",
    # ai4privacy 300k / 400k / 500k
    "GIVENNAME": "first_name", "GIVENNAME1": "first_name", "GIVENNAME2": "first_name",
    "SURNAME": "last_name", "LASTNAME1": "last_name", "LASTNAME2": "last_name",
    "LASTNAME3": "last_name", "TEL": "phone_number", "TELEPHONENUM": "phone_number",
    "POSTCODE": "postcode", "BOD": "date", "DATEOFBIRTH": "date", "SOCIALNUM": "ssn",
    "SOCIALNUMBER": "ssn", "BUILDING": "building_number", "BUILDINGNUM": "building_number",
    "SECADDRESS": "secondary_address", "PASS": "password", "TITLE": "prefix",
    # Presidio entity names
    "PERSON": "name", "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone_number",
    "LOCATION": "city", "CREDIT_CARD": "credit_card_number", "IBAN_CODE": "iban",
    "IP_ADDRESS": "ipv4", "US_SSN": "ssn", "DATE_TIME": "date",
}  # fmt: skip
"""Label -> Faker provider method used by ``surrogate``; other labels keep the value's shape
(each digit -> random digit, each letter -> random letter of the same case)."""


_FAKERS: dict[str, Faker] = {}  # one Faker per locale: building one takes milliseconds
_FAKER_LOCK = threading.RLock()
_FAKER_ATTEMPTS = 20  # Faker candidates for a value, then its shape
_SHAPE_ATTEMPTS = 50  # then ever longer single words of the value's kind, which cannot run out


def _shape_surrogate(value: str, rng: random.Random) -> str:
    out = []
    for ch in value:
        if ch.isdigit():
            out.append(str(rng.randrange(10)))
        elif ch.isalpha() and ch.isascii():
            letter = chr(rng.randrange(26) + 97)
            out.append(letter.upper() if ch.isupper() else letter)
        else:
            out.append(ch)
    return "".join(out)


def _widened_surrogate(value: str, rng: random.Random, extra: int) -> str:
    """One word (letters and digits only) shaped like ``value``, ``extra`` characters longer.

    A single word matches inside another surrogate only as a whole, so lengthening it
    always ends in a candidate that collides with nothing (see ``Vault.surrogate``).
    """
    core = [c for c in _shape_surrogate(value, rng) if c.isalnum() and c.isascii()]
    digits_only = any(c.isdigit() for c in value) and not any(c.isalpha() for c in value)
    pool = "0123456789" if digits_only else "abcdefghijklmnopqrstuvwxyz"
    return "".join(core) + "".join(rng.choice(pool) for _ in range(extra))


@register_operator
class SurrogateOperator(Operator):
    """A realistic fake of the same kind (Faker), recorded in the vault for unmasking.

    Parameters: ``seed`` (int or str; the same seed gives the same surrogate for the same
    label and value, whatever the order), ``locale`` (Faker locale, default ``en_US``),
    ``providers`` (label -> Faker method name or ``callable(faker) -> str``, overriding
    :data:`SURROGATE_PROVIDERS`). Surrogates never occur in the source text and never
    contain one another within a text, so :func:`unmask` can restore them. When the
    candidates collide (short values: a lone ``$``, small ages), ever longer words of the
    value's kind are tried, so a surrogate is always found.
    """

    name = "surrogate"
    param_names = frozenset({"seed", "locale", "providers"})
    reversible = True

    def validate(self, params: Mapping[str, Any]) -> None:
        seed = params.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, str))):
            raise ConfigError("surrogate: seed must be an int or a str")
        locale = params.get("locale", "en_US")
        if not isinstance(locale, str):
            raise ConfigError("surrogate: locale must be a str such as 'en_US'")
        try:
            self._faker(locale)
        except AttributeError as exc:
            raise ConfigError(f"surrogate: unknown Faker locale {locale!r}") from exc
        providers = params.get("providers", {})
        if not isinstance(providers, Mapping):
            raise ConfigError("surrogate: providers must map labels to Faker methods")
        for label, provider in providers.items():
            if isinstance(provider, str):
                if not callable(getattr(self._faker(locale), provider, None)):
                    raise ConfigError(f"surrogate: Faker has no provider {provider!r} ({label})")
            elif not callable(provider):
                raise ConfigError(f"surrogate: provider for {label} must be a name or callable")

    @staticmethod
    def _faker(locale: str) -> Faker:
        with _FAKER_LOCK:
            fk = _FAKERS.get(locale)
            if fk is None:
                from faker import Faker

                fk = _FAKERS[locale] = Faker(locale)
            return fk

    def apply(self, value: str, label: str, ctx: OperatorContext) -> str:
        vault = _need_vault(ctx)
        seed = ctx.params.get("seed")
        if seed is None:
            seed = ctx.state.setdefault("random_seed", secrets.token_hex(16))
        fk = self._faker(ctx.params.get("locale", "en_US"))
        providers: Mapping[str, str | Callable[[Any], str]] = ctx.params.get("providers", {})
        provider = providers.get(label, SURROGATE_PROVIDERS.get(label))

        def make(attempt: int) -> str:
            material = f"{seed}\x00{label}\x00{value}\x00{attempt}".encode("utf-8", "surrogatepass")
            n = int.from_bytes(hashlib.sha256(material).digest()[:8], "big")
            if attempt >= _SHAPE_ATTEMPTS:
                extra = 1 + (attempt - _SHAPE_ATTEMPTS) // 10
                return _widened_surrogate(value, random.Random(n), extra)
            if provider is None or attempt >= _FAKER_ATTEMPTS:  # shape keeps the kind
                return _shape_surrogate(value, random.Random(n))
            with _FAKER_LOCK:  # seeding + drawing must not interleave across threads
                fk.seed_instance(n)
                out = provider(fk) if callable(provider) else getattr(fk, provider)()
            return str(out)

        issued: list[str] = ctx.state.setdefault("surrogates", [])
        # a surrogate must not occur in the source, nor be one that ``anonymize`` found
        # misplaced in an earlier rendering of this text (NUL: in no Faker value)
        avoid = "\x00".join([ctx.source, *sorted(ctx.state.get("excluded", ()))])
        token = vault.surrogate(label, value, make, avoid=avoid, others=issued)
        if token not in issued:
            issued.append(token)
        return token


@dataclass(frozen=True)
class AnonymizedItem:
    """One replacement: ``start:end`` in the output, ``original_start:original_end`` in
    the source."""

    start: int
    end: int
    label: str
    operator: str
    original_start: int
    original_end: int


@dataclass(frozen=True)
class Anonymized:
    """The anonymized text, what was replaced where, and the vault when reversible.

    ``tokens`` are the vault tokens issued for this text (once each, in order): pass them
    to :func:`unmask` so that only they are filled.
    """

    text: str = field(repr=False)
    items: tuple[AnonymizedItem, ...]
    vault: Vault | None = None
    tokens: tuple[str, ...] = ()


OperatorSpec = str | Operator


def _resolve(spec: OperatorSpec) -> Operator:
    if isinstance(spec, Operator):
        return spec
    if isinstance(spec, str):
        return get_operator(spec)
    raise ConfigError(f"an operator must be a name or an Operator, got {type(spec).__name__}")


def _overlap_groups(spans: Iterable[Span]) -> list[list[Span]]:
    """Non-empty ``spans`` sorted, in groups of spans that overlap (one span per group when
    none does): each group is rendered as one replacement by :func:`anonymize` (and
    ``masking._finish`` reports spans the same way)."""
    groups: list[list[Span]] = []
    for s in sorted((s for s in spans if s.end > s.start), key=lambda s: (s.start, -s.end)):
        if groups and s.start < max(g.end for g in groups[-1]):
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups


def _rendered_span(group: list[Span], source: str) -> Span:
    """The span a group of overlapping spans is rendered as: their union, with the label of
    the longest member (earliest on ties); a lone span as it is."""
    if len(group) == 1:
        return group[0]
    start, end = group[0].start, max(s.end for s in group)
    label = min(group, key=lambda s: (-(s.end - s.start), s.start)).label
    return Span(start, end, label, source[start:end])


def anonymize(
    source: str,
    spans: Iterable[Span],
    operator: OperatorSpec | Mapping[str, OperatorSpec] = "replace",
    *,
    vault: Vault | None = None,
    **params: Any,
) -> Anonymized:
    """Replace every span of ``source`` with its operator's output.

    ``operator`` is a name, an :class:`Operator`, or a dict label -> operator (key
    ``"DEFAULT"`` for the rest, else ``replace``). ``params`` go to the operators, which
    validate them before anything is applied. Reversible operators record tokens in
    ``vault`` (a new one per call when None; pass one to share it across documents).
    Spans are offsets into ``source``; overlapping spans are merged so nothing between
    them stays visible; empty spans are skipped. Inputs are not modified. A surrogate that
    would not be found again exactly where it was placed (it straddles a neighbour or sits
    inside another) is drawn again, so ``unmask(text, vault, tokens=tokens)`` gives back
    ``source`` whatever the surrogates' neighbours.
    """
    if not isinstance(source, str):
        raise ConfigError(f"source must be a str, got {type(source).__name__}")
    if vault is not None and not isinstance(vault, Vault):
        raise ConfigError(f"vault must be a Vault, got {type(vault).__name__}")
    if isinstance(operator, Mapping):
        per_label = {str(k): _resolve(v) for k, v in operator.items()}
        default = per_label.pop(DEFAULT_OPERATOR_KEY, None) or get_operator("replace")
    else:
        per_label, default = {}, _resolve(operator)
    used = [default, *per_label.values()]
    accepted = frozenset().union(*(op.param_names for op in used))
    unknown = sorted(set(params) - accepted)
    if unknown:
        names = ", ".join(sorted({op.name for op in used}))
        raise ConfigError(f"unknown parameter(s) {', '.join(unknown)} for operator(s) {names}")
    for op in used:
        op.validate({k: v for k, v in params.items() if k in op.param_names})

    checked: list[Span] = []
    for i, span in enumerate(spans):
        if not isinstance(span, Span):
            raise ConfigError(f"span {i} must be a Span, got {type(span).__name__}")
        if span.end > len(source):
            raise ConfigError(f"span {i} ({span.label}) ends at {span.end}, past the text end")
        if span.value and source[span.start : span.end] != span.value:
            raise ConfigError(f"span {i} ({span.label}): its value does not match the text")
        if span.end > span.start:
            checked.append(span)
    # overlapping spans are merged into their union: nothing between them stays visible
    merged = [_rendered_span(g, source) for g in _overlap_groups(checked)]

    if vault is None and any(op.reversible for op in used):
        vault = Vault()
    ctx = OperatorContext(params=params, vault=vault, source=source)
    for _ in range(_PLACEMENT_TRIES):
        out = _render(source, merged, per_label, default, ctx)
        misplaced = _misplaced(out, source)
        if not misplaced:
            return out
        # draw those surrogates again for this text, the misplaced ones excluded
        excluded = ctx.state.setdefault("excluded", set())
        excluded.update(misplaced)
        ctx = OperatorContext(
            params=params,
            vault=vault,
            source=source,
            state={k: ctx.state[k] for k in ("excluded", "random_seed") if k in ctx.state},
        )
    raise ConfigError(
        f"could not place surrogates that unmask finds again in {_PLACEMENT_TRIES} tries"
    )


_PLACEMENT_TRIES = 20  # renderings of a text before giving up (one is the rule)


def _render(
    source: str,
    merged: list[Span],
    per_label: Mapping[str, Operator],
    default: Operator,
    ctx: OperatorContext,
) -> Anonymized:
    """``source`` with each span of ``merged`` (sorted, disjoint) replaced by its operator."""
    pieces: list[str] = []
    items: list[AnonymizedItem] = []
    tokens: dict[str, None] = {}
    pos = out_len = 0
    for span in merged:
        op = per_label.get(span.label, default)
        replacement = op.apply(source[span.start : span.end], span.label, ctx)
        if op.reversible:
            tokens[replacement] = None
        gap = source[pos : span.start]
        pieces += (gap, replacement)
        out_start = out_len + len(gap)
        out_len = out_start + len(replacement)
        items.append(AnonymizedItem(out_start, out_len, span.label, op.name, span.start, span.end))
        pos = span.end
    pieces.append(source[pos:])
    return Anonymized(
        text="".join(pieces), items=tuple(items), vault=ctx.vault, tokens=tuple(tokens)
    )


def _misplaced(out: Anonymized, source: str) -> set[str]:
    """The surrogates of ``out`` that a scoped unmask would not find exactly where they were
    placed (also found elsewhere: straddling a neighbour or inside another surrogate).
    Empty when ``out`` unmasks back to ``source`` (every one when it does not for another
    reason)."""
    vault = out.vault
    if vault is None:
        return set()
    placed: dict[str, list[int]] = {}
    for item in out.items:
        token = out.text[item.start : item.end]
        if vault.kind_of(token) == "surrogate":
            placed.setdefault(token, []).append(item.start)
    if not placed:
        return set()
    bad = {token for token, starts in placed.items() if find_all(token, out.text) != starts}
    if bad or vault.unmask(out.text, tokens=out.tokens) == source:
        return bad
    return set(placed)
