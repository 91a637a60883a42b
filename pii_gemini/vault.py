"""The vault: what each placeholder or surrogate stands for, so masking can be undone.

Reversible operators (``numbered``, ``surrogate``) record every token they emit here:
``"[FIRSTNAME_1]" -> "Maria"`` or ``"Hannah" -> "Maria"``. :func:`unmask` puts the originals
back into any text - the masked text itself or an LLM's answer to it.

**Scope.** A text may already hold strings that look like tokens (a templated mail with
``[EMAIL_1]``, a forwarded one with another row's surrogate). Pass ``tokens=`` - the tokens
issued for that text (``MaskResult.tokens``, the ``tokens`` field of a ``mask_file`` line) -
and only those are filled; everything else stays as it is and is counted
(:meth:`Vault.restore`). A value whose token already occurs in the text being masked gets
another token, so the tokens issued for a text never collide with what it held before.

**Identity.** Tokens are numbered per vault (``[FIRSTNAME_1]`` is the first name *this*
vault saw), so a text masked with one vault must never be unmasked with another: it would get
another person's values. Every vault has a random :attr:`Vault.id`, kept in its file's header
for the file's life (saving, loading, extending and resuming keep it); every line
``mask_file`` writes with a vault names it (``vault``), and :func:`unmask` /
:meth:`Vault.restore` given that ``vault_id=`` raise ``VaultMismatchError`` for another
one (:func:`check_vault_id`).
A file written before ids existed has none (``id`` None): it is still read, unchecked, and
gets an id the first time ``mask_file`` extends it.

A vault holds raw PII. Its ``repr`` shows counts only; :meth:`Vault.save` writes it with
0600 permissions through an atomic replace (an append-only log, see ``_vaultfile``;
``_vaultlog.VaultLog`` appends only what is new) and refuses the directory of the masked
output it belongs to (``masked_output=``) unless ``allow_same_dir=True``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import _vaultfile
from ._exceptions import ConfigError, DatasetError, VaultMismatchError
from ._vaulttext import (
    BARE,
    BRACKETED,
    PLACEHOLDER_LABEL_RE,
    PLACEHOLDERS,
    count_placeholders,
    key_of_match,
    occurs,
    placeholder_key,
    split_token,
    surrogate_pattern,
    unfilled,
)

__all__ = [
    "PLACEHOLDER_LABEL_RE",
    "Unmasked",
    "Vault",
    "VaultEntry",
    "check_vault_id",
    "count_placeholders",
    "unmask",
]

_MAX_SURROGATE_ATTEMPTS = 1000  # candidates tried before giving up (the built-in never needs it)

Kind = Literal["placeholder", "surrogate"]
_ID_BYTES = 16  # a vault id: 128 random bits, 32 hex digits


def new_vault_id() -> str:
    """A fresh random vault id (32 lower-case hex digits)."""
    return secrets.token_hex(_ID_BYTES)


def short_id(vault_id: str | None) -> str:
    """How messages show a vault id: its first 8 digits, or that it has none."""
    return f"id {vault_id[:8]}" if vault_id else "no id (written by an older pii_gemini)"


@dataclass(frozen=True)
class VaultEntry:
    """One token and the original value it replaced."""

    token: str
    original: str = field(repr=False)
    label: str
    kind: Kind

    def __post_init__(self) -> None:
        if self.kind not in ("placeholder", "surrogate"):
            raise ConfigError(
                f"vault entry kind must be 'placeholder' or 'surrogate', not {self.kind!r}"
            )
        if not self.token or not isinstance(self.original, str) or not self.label:
            raise ConfigError("a vault entry needs a token, an original value and a label")


@dataclass(frozen=True)
class Unmasked:
    """A text with originals restored: how many tokens were filled and how many
    placeholder-like strings were left (unknown, or not issued for this text), plus, with
    ``tokens``, occurrences of the text's own surrogates that could not be filled."""

    text: str = field(repr=False)
    restored: int
    left: int


class Vault:
    """Placeholder/surrogate -> original value, consistent both ways.

    The same ``(label, original)`` gets the same token wherever that token is free; a token
    maps to one original. Thread-safe for concurrent masking with one shared vault. A new
    vault gets a random :attr:`id` (``vault_id=`` names one, e.g. to rebuild a vault).
    """

    def __init__(self, entries: Iterable[VaultEntry] = (), *, vault_id: str | None = None) -> None:
        self._id: str | None = new_vault_id() if vault_id is None else _vaultfile.check_id(vault_id)
        self._lock = threading.RLock()
        self._entries: dict[str, VaultEntry] = {}
        self._order: list[VaultEntry] = []  # insertion order, for incremental saving
        self._keys: dict[str, VaultEntry] = {}  # normalised placeholder key -> entry
        self._by_value: dict[tuple[Kind, str, str], list[str]] = {}
        self._originals: set[str] = set()
        self._next: Counter[str] = Counter()  # label (upper) -> last placeholder index
        self._pattern: re.Pattern[str] | None = None
        for entry in entries:
            self.add(entry)

    # --- reading --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, token: object) -> bool:
        return token in self._entries

    def __iter__(self) -> Iterator[VaultEntry]:
        with self._lock:
            return iter(list(self._order))

    @property
    def id(self) -> str | None:
        """The vault's random id (32 hex digits), which the outputs masked with it name;
        None for a vault read from a file written before ids existed (see ``ensure_id``)."""
        return self._id

    def ensure_id(self) -> str:
        """The vault's id, given one now if it has none (an old vault about to be used)."""
        with self._lock:
            if self._id is None:
                self._id = new_vault_id()
            return self._id

    def __repr__(self) -> str:
        with self._lock:
            labels = sorted({e.label for e in self._order})
            return f"Vault(entries={len(self)}, labels={labels})"

    def original(self, token: str) -> str | None:
        """The original value behind an exact token, or None."""
        entry = self._entries.get(token)
        return entry.original if entry else None

    def kind_of(self, token: str) -> Kind | None:
        """Whether an exact token is a placeholder or a surrogate of this vault, or None."""
        entry = self._entries.get(token)
        return entry.kind if entry else None

    def token_for(self, label: str, original: str, kind: Kind = "placeholder") -> str | None:
        """The first token given to ``original`` under ``label``, or None."""
        tokens = self._by_value.get((kind, label, original))
        return tokens[0] if tokens else None

    def entries_since(self, start: int) -> list[VaultEntry]:
        """Entries added after the first ``start`` ones (a consistent snapshot)."""
        with self._lock:
            return self._order[start:]

    # --- writing --------------------------------------------------------------------------

    def add(self, entry: VaultEntry) -> None:
        """Record an entry; a token already bound to another value is a ConfigError."""
        with self._lock:
            old = self._entries.get(entry.token)
            if old is not None:
                if old != entry:
                    raise ConfigError(f"vault token for label {entry.label} is already in use")
                return
            if entry.kind == "placeholder":
                parts = split_token(entry.token)
                if parts is None:
                    raise ConfigError("a placeholder token must look like [LABEL_N]")
                key = placeholder_key(*parts)
                if key in self._keys:
                    raise ConfigError(f"placeholder key for label {entry.label} is already in use")
                self._keys[key] = entry
                up = parts[0].upper()
                self._next[up] = max(self._next[up], int(parts[1]))
            self._entries[entry.token] = entry
            self._order.append(entry)
            self._originals.add(entry.original)
            self._by_value.setdefault((entry.kind, entry.label, entry.original), []).append(
                entry.token
            )
            self._pattern = None

    def placeholder(self, label: str, original: str, *, avoid: Collection[str] = ()) -> str:
        """The numbered placeholder ``[LABEL_N]`` for ``original``, created on first use.

        N counts per label from 1. Keys in ``avoid`` (normalised ``[LABEL_N]`` already
        present in the source text) are never used for this text: a value whose token is
        among them gets another token, so unmasking cannot confuse the two.
        """
        if not PLACEHOLDER_LABEL_RE.fullmatch(label):
            raise ConfigError(
                f"label {label!r} cannot be numbered: use letters, digits and '_' only"
            )
        with self._lock:
            for token in self._by_value.get(("placeholder", label, original), ()):
                parts = split_token(token)
                if parts is not None and placeholder_key(*parts) not in avoid:
                    return token
            n = self._next[label.upper()]
            while True:
                n += 1
                key = placeholder_key(label, n)
                if key not in self._keys and key not in avoid:
                    break
            token = f"[{label}_{n}]"
            self.add(VaultEntry(token, original, label, "placeholder"))
            return token

    def surrogate(
        self,
        label: str,
        original: str,
        make: Callable[[int], str],
        *,
        avoid: str = "",
        others: Collection[str] = (),
    ) -> str:
        """The surrogate for ``original``, created with ``make(attempt)`` on first use.

        A surrogate is used for a text only when it does not occur in ``avoid`` (the source
        text) and neither contains nor sits inside (as :func:`unmask` would match it) one of
        ``others`` (the surrogates already issued for that text). A new candidate must also
        be non-empty, no original value of the vault and no token of it. ``make`` is called
        with growing attempts; the built-in operator's candidates grow longer, so it never
        runs out (``ConfigError`` only for a ``make`` that keeps repeating itself).
        """

        def fits(cand: str) -> bool:
            return cand not in avoid and not any(
                o != cand and (occurs(cand, o) or occurs(o, cand)) for o in others
            )

        with self._lock:
            for token in self._by_value.get(("surrogate", label, original), ()):
                if fits(token):
                    return token
            for attempt in range(_MAX_SURROGATE_ATTEMPTS):
                cand = make(attempt)
                if (
                    cand
                    and cand.strip() == cand
                    and cand != original
                    and cand not in self._originals
                    and cand not in self._entries
                    and fits(cand)
                ):
                    self.add(VaultEntry(cand, original, label, "surrogate"))
                    return cand
        raise ConfigError(
            f"could not find a unique surrogate for a {label} value in "
            f"{_MAX_SURROGATE_ATTEMPTS} attempts"
        )

    # --- unmasking ------------------------------------------------------------------------

    def _global_pattern(self) -> re.Pattern[str]:
        with self._lock:
            if self._pattern is None:
                surrogates = surrogate_pattern(
                    e.token for e in self._order if e.kind == "surrogate"
                )
                parts = [p for p in (surrogates, BRACKETED, BARE) if p is not None]
                self._pattern = re.compile("|".join(parts))
            return self._pattern

    def restore(
        self, text: str, *, tokens: Iterable[str] | None = None, vault_id: str | None = None
    ) -> Unmasked:
        """``text`` with originals restored, and what was filled or left.

        With ``tokens`` (those issued for this text) only they are filled; without, every
        token of the vault is (the whole vault is trusted to belong to this text). With
        ``vault_id`` (the ``vault`` field of a ``mask_file`` line) a text masked with another
        vault raises ``VaultMismatchError`` (see :func:`check_vault_id`).
        """
        if not isinstance(text, str):
            raise ConfigError(f"text to unmask must be a str, got {type(text).__name__}")
        check_vault_id(self, vault_id)
        scope = None if tokens is None else frozenset(tokens)
        mine: list[str] = []
        if scope is None:
            pattern = self._global_pattern()
        else:
            mine = [t for t in scope if (e := self._entries.get(t)) and e.kind == "surrogate"]
            # the source never contains a surrogate of its own, so in the masked text one
            # is where it was placed, glued to its neighbours or not: match it anywhere
            surrogates = surrogate_pattern(mine, whole=False)
            pattern = re.compile("|".join(p for p in (surrogates, BRACKETED, BARE) if p))
        restored = left = 0
        filled: list[tuple[int, int]] = []  # spans of the text replaced by a surrogate

        def fill(m: re.Match[str]) -> str:
            nonlocal restored, left
            surrogate = m.groupdict().get("s")
            if surrogate is not None:
                restored += 1
                filled.append(m.span())
                return self._entries[surrogate].original
            entry = self._keys.get(key_of_match(m))
            if entry is None or (scope is not None and entry.token not in scope):
                left += 1
                return m.group()
            restored += 1
            return entry.original

        out = pattern.sub(fill, text)
        return Unmasked(out, restored, left + unfilled(mine, text, filled))

    def unmask(
        self, text: str, *, tokens: Iterable[str] | None = None, vault_id: str | None = None
    ) -> str:
        """``text`` with the originals of its tokens put back (see :meth:`restore`)."""
        return self.restore(text, tokens=tokens, vault_id=vault_id).text

    def placeholder_keys_in(self, text: str) -> frozenset[str]:
        """Normalised ``[LABEL_N]`` keys that :func:`unmask` would read in ``text``."""
        return frozenset(key_of_match(m) for m in PLACEHOLDERS.finditer(text))

    # --- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (holds raw PII: handle like the original data)."""
        doc: dict[str, object] = {"format": _vaultfile.FORMAT, "version": 1}
        if self._id is not None:
            doc["id"] = self._id
        return doc | {
            "entries": [
                {"token": e.token, "original": e.original, "label": e.label, "kind": e.kind}
                for e in self.entries_since(0)
            ],
        }

    def to_json(self) -> str:
        """The vault as a JSON string (holds raw PII)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, data: str | bytes) -> Vault:
        """Rebuild a vault from :meth:`to_json` output; ConfigError when malformed."""
        return cls._of_records(*_vaultfile.parse_document(data))

    @classmethod
    def _of_records(
        cls,
        records: Iterable[tuple[str, str, str, str]],
        vault_id: str | None,
        place: Callable[[int], str] | None = None,
    ) -> Vault:
        vault = cls()
        vault._id = vault_id
        vault._merge(records, place)
        return vault

    def _merge(
        self,
        records: Iterable[tuple[str, str, str, str]],
        place: Callable[[int], str] | None = None,
    ) -> None:
        """Add ``records``; with ``place`` (where record i is in its file), an entry that
        conflicts (a token already given to another value: a damaged file, e.g. written by
        two runs at once) is a ``DatasetError`` naming the file and line."""
        with self._lock:
            for i, (token, original, label, kind) in enumerate(records):
                try:  # VaultEntry checks the kind
                    self.add(VaultEntry(token, original, label, kind))  # type: ignore[arg-type]
                except ConfigError as exc:
                    if place is None:
                        raise
                    raise DatasetError(
                        f"vault file {place(i)}: {exc} (the file is damaged, e.g. written by "
                        "two runs at once; restore it from a backup)"
                    ) from None

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        masked_output: str | os.PathLike[str] | None = None,
        allow_same_dir: bool = False,
    ) -> Path:
        """Write the whole vault readable by the owner only (0600), atomically.

        With ``masked_output`` (the masked file this vault belongs to), refuses to write into
        the same directory unless ``allow_same_dir=True``: whoever receives the masked
        output should not find the key to it beside it.
        """
        target = check_vault_path(Path(path), masked_output, allow_same_dir)
        _vaultfile.write_all(target, records_of(self.entries_since(0)), self._id)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vault:
        """Read a vault written by :meth:`save` or ``VaultLog`` (or a version-1 file)."""
        parsed = _vaultfile.read(Path(path))
        return cls._of_records(parsed.records, parsed.vault_id, parsed.place)


def check_vault_id(vault: Vault, vault_id: str | None, what: str = "the text") -> None:
    """Raise ``VaultMismatchError`` unless ``vault_id`` (the id a masked text names; None:
    it names none, nothing to check) is ``vault``'s id. ``what`` names the text."""
    if vault_id is not None and vault_id != vault.id:
        raise VaultMismatchError(
            f"{what} was masked with another vault ({short_id(vault_id)}), not this one "
            f"({short_id(vault.id)}): its tokens would be filled with other values; "
            "use the vault it was masked with"
        )


def records_of(entries: Iterable[VaultEntry]) -> list[tuple[str, str, str, str]]:
    """The file records (token, original, label, kind) of ``entries``."""
    return [(e.token, e.original, e.label, e.kind) for e in entries]


def check_vault_path(
    target: Path, masked_output: str | os.PathLike[str] | None, allow_same_dir: bool
) -> Path:
    """``target`` if a vault may be written there, else a ConfigError saying why."""
    if masked_output is not None and not allow_same_dir:
        out_dir = Path(masked_output).resolve().parent
        if target.resolve().parent == out_dir:
            raise ConfigError(
                "refusing to save the vault in the directory of the masked output "
                f"({target.name}); choose another directory or pass allow_same_dir=True"
            )
    if target.is_dir():
        raise ConfigError(f"vault path {target.name} is a directory")
    if not target.parent.is_dir():
        raise ConfigError(f"the directory for vault file {target.name} does not exist")
    return target


def unmask(
    text: str, vault: Vault, *, tokens: Iterable[str] | None = None, vault_id: str | None = None
) -> str:
    """Restore original values into ``text`` (e.g. an LLM's answer to masked text).

    Replaced: exact surrogates (case-sensitive; without ``tokens`` a surrogate that starts
    or ends with a word character must not touch another word character, so "Ann" in
    "Annual" stays; with ``tokens`` the text's own surrogates wherever they occur, as
    masking may glue them to their neighbours: "+44" and a fake number) and
    numbered placeholders known to the vault, tolerating letter case, inner whitespace
    ("[ firstname _ 1 ]"), leading zeros, and missing brackets for an upper-case whole-token
    ``FIRSTNAME_1``. Unknown placeholders and ``[LABEL]`` without a number stay as they are.
    With ``tokens`` (the tokens issued for this text) only those are filled. With
    ``vault_id`` (the id the masked text names: a ``mask_file`` line's ``vault``) another
    vault than the one it was masked with raises ``VaultMismatchError``.
    """
    if not isinstance(vault, Vault):
        raise ConfigError(f"vault must be a Vault, got {type(vault).__name__}")
    return vault.unmask(text, tokens=tokens, vault_id=vault_id)
