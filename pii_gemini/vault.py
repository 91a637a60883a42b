"""The vault: what each placeholder or surrogate stands for, so masking can be undone.

Reversible operators (``numbered``, ``surrogate``) record every token they emit here:
``"[FIRSTNAME_1]" -> "Maria"`` or ``"Hannah" -> "Maria"``. :func:`unmask` puts the originals
back into any text - the masked text itself or an LLM's answer to it.

A vault holds raw PII. Its ``repr`` shows counts only, :meth:`Vault.save` writes it with
0600 permissions through an atomic replace, and refuses to write it into the directory of
the masked output it belongs to (``masked_output=``) unless ``allow_same_dir=True``.

Use one vault per document (the default of :func:`~pii_gemini.operators.anonymize`) or
pass the same vault to many calls to share numbering and surrogates across documents.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ._exceptions import ConfigError

__all__ = ["PLACEHOLDER_LABEL_RE", "Vault", "VaultEntry", "unmask"]

_FORMAT = "pii_gemini.vault"
_VERSION = 1
_MAX_SURROGATE_ATTEMPTS = 50  # candidates tried before giving up on a unique surrogate

PLACEHOLDER_LABEL_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
"""Labels a numbered placeholder ``[LABEL_N]`` can carry (what :func:`unmask` can parse)."""

# What unmask accepts as a numbered placeholder, besides the exact "[LABEL_N]":
#   any letter case, whitespace inside the brackets and around "_" ("[ firstname _ 1 ]"),
#   leading zeros in N ("[FIRSTNAME_01]"), and - without brackets - "LABEL_N" when it is
#   upper-case and a whole token (no letter, digit, "_" or bracket touching it).
_BRACKETED = r"\[\s*(?P<bl>[A-Za-z][A-Za-z0-9_]*?)\s*_\s*(?P<bn>\d+)\s*\]"
_BARE = r"(?<![\w\[])(?P<rl>[A-Z][A-Z0-9_]*?)_(?P<rn>\d+)(?![\w\]])"

Kind = Literal["placeholder", "surrogate"]


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


def _placeholder_key(label: str, index: int | str) -> str:
    return f"[{label.upper()}_{int(index)}]"


class Vault:
    """Placeholder/surrogate -> original value, consistent both ways.

    The same ``(label, original)`` always gets the same token; a token maps to one original.
    Thread-safe for concurrent masking with one shared vault.
    """

    def __init__(self, entries: Iterable[VaultEntry] = ()) -> None:
        self._lock = threading.RLock()
        self._entries: dict[str, VaultEntry] = {}
        self._keys: dict[str, VaultEntry] = {}  # normalised placeholder key -> entry
        self._by_value: dict[tuple[Kind, str, str], str] = {}
        self._originals: set[str] = set()
        self._next: Counter[str] = Counter()  # label (upper) -> last placeholder index
        self._pattern: re.Pattern[str] | None = None
        for entry in entries:
            self.add(entry)

    # --- reading --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, token: object) -> bool:
        return token in self._entries

    def __iter__(self) -> Iterator[VaultEntry]:
        return iter(list(self._entries.values()))

    def __repr__(self) -> str:
        labels = sorted({e.label for e in self._entries.values()})
        return f"Vault(entries={len(self)}, labels={labels})"

    def original(self, token: str) -> str | None:
        """The original value behind an exact token, or None."""
        entry = self._entries.get(token)
        return entry.original if entry else None

    def token_for(self, label: str, original: str, kind: Kind = "placeholder") -> str | None:
        """The token already given to ``original`` under ``label``, or None."""
        return self._by_value.get((kind, label, original))

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
                m = re.fullmatch(r"\[([A-Za-z][A-Za-z0-9_]*)_(\d+)\]", entry.token)
                if m is None:
                    raise ConfigError("a placeholder token must look like [LABEL_N]")
                key = _placeholder_key(m.group(1), m.group(2))
                if key in self._keys:
                    raise ConfigError(f"placeholder key for label {entry.label} is already in use")
                self._keys[key] = entry
                up = m.group(1).upper()
                self._next[up] = max(self._next[up], int(m.group(2)))
            self._entries[entry.token] = entry
            self._originals.add(entry.original)
            self._by_value.setdefault((entry.kind, entry.label, entry.original), entry.token)
            self._pattern = None

    def placeholder(self, label: str, original: str, *, avoid: frozenset[str] = frozenset()) -> str:
        """The numbered placeholder ``[LABEL_N]`` for ``original``, created on first use.

        N counts per label from 1; keys in ``avoid`` (normalised ``[LABEL_N]`` already
        present in the source text) are skipped so that unmasking cannot confuse them.
        """
        if not PLACEHOLDER_LABEL_RE.fullmatch(label):
            raise ConfigError(
                f"label {label!r} cannot be numbered: use letters, digits and '_' only"
            )
        with self._lock:
            token = self._by_value.get(("placeholder", label, original))
            if token is not None:
                return token
            n = self._next[label.upper()]
            while True:
                n += 1
                key = _placeholder_key(label, n)
                if key not in self._keys and key not in avoid:
                    break
            token = f"[{label}_{n}]"
            self.add(VaultEntry(token, original, label, "placeholder"))
            return token

    def surrogate(
        self, label: str, original: str, make: Callable[[int], str], *, avoid: str = ""
    ) -> str:
        """The surrogate for ``original``, created with ``make(attempt)`` on first use.

        A candidate is rejected when it is empty, equals an original value of the vault,
        occurs in ``avoid`` (the source text), or is a substring of another surrogate or
        contains one - so that :func:`unmask` maps every surrogate back to exactly one value.
        """
        with self._lock:
            token = self._by_value.get(("surrogate", label, original))
            if token is not None:
                return token
            others = [t for t, e in self._entries.items() if e.kind == "surrogate"]
            for attempt in range(_MAX_SURROGATE_ATTEMPTS):
                cand = make(attempt)
                if (
                    cand
                    and cand.strip() == cand
                    and cand != original
                    and cand not in self._originals
                    and cand not in self._entries
                    and cand not in avoid
                    and not any(cand in o or o in cand for o in others)
                ):
                    self.add(VaultEntry(cand, original, label, "surrogate"))
                    return cand
        raise ConfigError(
            f"could not find a unique surrogate for a {label} value in "
            f"{_MAX_SURROGATE_ATTEMPTS} attempts"
        )

    # --- unmasking ------------------------------------------------------------------------

    def _unmask_pattern(self) -> re.Pattern[str]:
        with self._lock:
            if self._pattern is None:
                surrogates = sorted(
                    (t for t, e in self._entries.items() if e.kind == "surrogate"),
                    key=lambda t: (-len(t), t),
                )
                alts = [
                    ("(?<!\\w)" if t[0].isalnum() or t[0] == "_" else "")
                    + re.escape(t)
                    + ("(?!\\w)" if t[-1].isalnum() or t[-1] == "_" else "")
                    for t in surrogates
                ]
                parts = [_BRACKETED, _BARE]
                if alts:
                    parts.insert(0, "(?P<s>" + "|".join(alts) + ")")
                self._pattern = re.compile("|".join(parts))
            return self._pattern

    def _restore(self, m: re.Match[str]) -> str:
        surrogate = m.groupdict().get("s")
        if surrogate is not None:
            return self._entries[surrogate].original
        if m.group("bl") is not None:
            entry = self._keys.get(_placeholder_key(m.group("bl"), m.group("bn")))
        else:
            entry = self._keys.get(_placeholder_key(m.group("rl"), m.group("rn")))
        return entry.original if entry is not None else m.group()

    def unmask(self, text: str) -> str:
        """``text`` with every known placeholder and surrogate replaced by its original."""
        if not isinstance(text, str):
            raise ConfigError(f"text to unmask must be a str, got {type(text).__name__}")
        if not self._entries:
            return text
        return self._unmask_pattern().sub(self._restore, text)

    def placeholder_keys_in(self, text: str) -> frozenset[str]:
        """Normalised ``[LABEL_N]`` keys that :func:`unmask` would read in ``text``."""
        pattern = re.compile(f"{_BRACKETED}|{_BARE}")
        keys = set()
        for m in pattern.finditer(text):
            label, n = (
                (m.group("bl"), m.group("bn")) if m.group("bl") else (m.group("rl"), m.group("rn"))
            )
            keys.add(_placeholder_key(label, n))
        return frozenset(keys)

    # --- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (holds raw PII: handle like the original data)."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "entries": [
                {"token": e.token, "original": e.original, "label": e.label, "kind": e.kind}
                for e in self._entries.values()
            ],
        }

    def to_json(self) -> str:
        """The vault as a JSON string (holds raw PII)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, data: str | bytes) -> Vault:
        """Rebuild a vault from :meth:`to_json` output; ConfigError when malformed."""
        try:
            obj = json.loads(data)
        except (ValueError, TypeError) as exc:
            raise ConfigError("vault data is not valid JSON") from exc
        if not isinstance(obj, dict) or obj.get("format") != _FORMAT:
            raise ConfigError(f"vault data lacks format={_FORMAT!r}")
        if obj.get("version") != _VERSION:
            raise ConfigError(f"unsupported vault version {obj.get('version')!r}")
        entries = obj.get("entries")
        if not isinstance(entries, list):
            raise ConfigError("vault data needs an 'entries' list")
        vault = cls()
        for i, item in enumerate(entries):
            if not isinstance(item, dict) or not all(
                isinstance(item.get(k), str) for k in ("token", "original", "label", "kind")
            ):
                raise ConfigError(f"vault entry {i} needs string token/original/label/kind")
            vault.add(VaultEntry(item["token"], item["original"], item["label"], item["kind"]))
        return vault

    def save(
        self,
        path: str | os.PathLike[str],
        *,
        masked_output: str | os.PathLike[str] | None = None,
        allow_same_dir: bool = False,
    ) -> Path:
        """Write the vault as JSON readable by the owner only (0600), atomically.

        With ``masked_output`` (the masked file this vault belongs to), refuses to write into
        the same directory unless ``allow_same_dir=True``: whoever receives the masked
        output should not find the key to it beside it.
        """
        target = Path(path)
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
        tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
        data = self.to_json().encode("utf-8")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o600)  # in case the umask or platform widened it
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Vault:
        """Read a vault written by :meth:`save`."""
        target = Path(path)
        try:
            data = target.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read vault file {target.name}: {exc.strerror}") from exc
        return cls.from_json(data)


def unmask(text: str, vault: Vault) -> str:
    """Restore original values into ``text`` (e.g. an LLM's answer to masked text).

    Replaced: exact surrogates (case-sensitive; a surrogate that starts or ends with a word
    character must not touch another word character, so "Ann" in "Annual" stays) and
    numbered placeholders known to the vault, tolerating letter case, inner whitespace
    ("[ firstname _ 1 ]"), leading zeros, and missing brackets for an upper-case whole-token
    ``FIRSTNAME_1``. Unknown placeholders and ``[LABEL]`` without a number stay as they are.
    """
    if not isinstance(vault, Vault):
        raise ConfigError(f"vault must be a Vault, got {type(vault).__name__}")
    return vault.unmask(text)
