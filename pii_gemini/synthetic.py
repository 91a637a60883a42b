"""Faker-based generator of ai4privacy-format rows, for tests, the demo and benchmarks.

The project ships no ai4privacy rows (their licence forbids redistribution), so everything
that needs data in the dataset's shape uses :func:`generate_rows`. It writes either schema of
pii-masking-200k:

* ``"current"`` (since April 2024): ``source_text``, ``target_text`` with ``[LABEL]``
  placeholders, ``privacy_mask`` as a list of ``{value, start, end, label}``, ``span_labels``
  (JSON string), ``id``, ``language``, ``set``;
* ``"legacy"`` (Nov 2023, the seed article's): ``unmasked_text``, ``masked_text`` with
  ``[LABEL_N]`` placeholders indexed per label per text, ``privacy_mask`` as a Python
  dict-repr string, ``span_labels`` (Python-repr string), ``language``.

It reproduces the real quirks: adjacent placeholders (``[CURRENCYSYMBOL][AMOUNT]`` for
"£850.75", ``[PREFIX][LASTNAME]`` for "Mr.Smith"), a value repeated within a text, the value
forms of the real data (AGE "34" or "34 years old", TIME "20" or "10:18 PM"), literal
brackets that are not placeholders ("[sic]"), and French, German and Italian rows written in
their own language (templates in ``_synthetic_templates``) with values from their locales.

Speed: values are drawn once per locale into pools with a seeded Faker (cached, see
``_synthetic_values``), then every row is assembled with numpy; 200,000 rows take a few
seconds and the output depends only on the arguments.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._exceptions import ConfigError
from ._synthetic_templates import TEMPLATES, TEMPLATES_BY_LANGUAGE
from ._synthetic_values import LOCALES, _pools

__all__ = [
    "LOCALES",
    "SCHEMAS",
    "TEMPLATES",
    "TEMPLATES_BY_LANGUAGE",
    "generate_rows",
    "to_legacy_schema",
    "write_dataset",
]

SCHEMAS = ("current", "legacy")

_MAX_POOL = 256  # distinct values per label and language; more adds Faker time, not realism.
_MIN_POOL = 16

_SLOT_RE = re.compile(r"\{([A-Z][A-Z0-9]*)(?::(\w+))?\}")


@dataclass(frozen=True)
class _Template:
    """A template split into literals and slots; literals[i] precedes slots[i]."""

    literals: tuple[str, ...]  # len(slots) + 1
    slots: tuple[str, ...]  # slot keys, e.g. "FIRSTNAME" or "LASTNAME:2"
    labels: tuple[str, ...]  # label of each slot

    @property
    def keys(self) -> tuple[str, ...]:
        """Distinct slot keys in order of first appearance (one value each)."""
        return tuple(dict.fromkeys(self.slots))


@functools.cache
def _parse_template(template: str) -> _Template:
    literals: list[str] = []
    slots: list[str] = []
    labels: list[str] = []
    pos = 0
    for m in _SLOT_RE.finditer(template):
        literals.append(template[pos : m.start()])
        slots.append(m.group(0)[1:-1])
        labels.append(m.group(1))
        pos = m.end()
    literals.append(template[pos:])
    return _Template(tuple(literals), tuple(slots), tuple(labels))


def _str_array(values: npt.NDArray[np.int64]) -> npt.NDArray[np.object_]:
    return np.array(list(map(str, values.tolist())), dtype=object)


def generate_rows(
    n: int,
    *,
    seed: int = 0,
    schema: str = "current",
    languages: Sequence[str] = ("en",),
) -> pd.DataFrame:
    """Generate ``n`` synthetic rows in the raw ai4privacy-200k ``schema``.

    Deterministic for a given ``(n, seed, schema, languages)``, in any process on any day
    (dates and times are drawn around 2026-01-01, not the clock). ``languages`` are ISO codes
    among ``LOCALES`` (rows are spread uniformly over them). Offsets are exact:
    ``source_text[start:end] == value`` for every span.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigError(f"n must be a non-negative int, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative int, got {seed!r}")
    if schema not in SCHEMAS:
        raise ConfigError(f"schema must be one of {SCHEMAS}, got {schema!r}")
    if isinstance(languages, str):
        languages = (languages,)
    langs = tuple(languages)
    if not langs or any(lang not in LOCALES for lang in langs):
        raise ConfigError(
            f"languages must be a non-empty subset of {sorted(LOCALES)}, got {langs!r}"
        )
    n = int(n)
    legacy = schema == "legacy"
    rng = np.random.default_rng(int(seed))
    by_lang = {lang: [_parse_template(t) for t in TEMPLATES_BY_LANGUAGE[lang]] for lang in langs}
    templates = [_parse_template(t) for t in TEMPLATES]  # one draw per row, in any language
    template_of = rng.integers(0, len(templates), size=n)
    lang_of = rng.integers(0, len(langs), size=n)
    split_of = rng.random(n) < 0.8
    size = int(min(_MAX_POOL, max(_MIN_POOL, n)))
    all_labels = frozenset(label for t in templates for label in t.labels)
    all_labels |= {label for ts in by_lang.values() for t in ts for label in t.labels}

    source: npt.NDArray[np.object_] = np.empty(n, dtype=object)
    target: npt.NDArray[np.object_] = np.empty(n, dtype=object)
    spans: npt.NDArray[np.object_] = np.empty(n, dtype=object)
    masks: list[Any] = [None] * n

    order = np.lexsort((template_of, lang_of))  # group rows by (language, template)
    keys = lang_of[order] * len(templates) + template_of[order]
    bounds = np.flatnonzero(np.diff(keys)) + 1
    for rows in np.split(order, bounds):
        if rows.size == 0:
            continue
        lang = langs[int(lang_of[rows[0]])]
        own = by_lang[lang]  # the language's templates; the draw picks one modulo their number
        tpl = own[int(template_of[rows[0]]) % len(own)]
        pools = _pools(lang, int(seed), size, all_labels)
        m = rows.size
        picks = {
            key: rng.integers(0, size, size=m) for key in tpl.keys
        }  # one draw per distinct slot: a repeated slot repeats its value
        # offsets: literal lengths are constants, value lengths come from the pools
        starts: list[npt.NDArray[np.int64]] = []
        ends: list[npt.NDArray[np.int64]] = []
        pos = np.full(m, len(tpl.literals[0]), dtype=np.int64)
        for key, label, lit in zip(tpl.slots, tpl.labels, tpl.literals[1:], strict=True):
            starts.append(pos)
            end = pos + pools[label].lengths[picks[key]]
            ends.append(end)
            pos = end + len(lit)
        text: npt.NDArray[np.object_] = np.full(m, tpl.literals[0], dtype=object)
        for key, label, lit in zip(tpl.slots, tpl.labels, tpl.literals[1:], strict=True):
            text = text + pools[label].values[picks[key]] + lit
        source[rows] = text

        # placeholders: "[LABEL]" (current) or "[LABEL_N]" counted per label (legacy)
        seen: dict[str, int] = {}
        names = []
        for label in tpl.labels:
            seen[label] = seen.get(label, 0) + 1
            names.append(f"{label}_{seen[label]}" if legacy else label)
        target[rows] = tpl.literals[0] + "".join(
            f"[{name}]{lit}" for name, lit in zip(names, tpl.literals[1:], strict=True)
        )

        quote = "'" if legacy else '"'
        start_s = [_str_array(s) for s in starts]
        end_s = [_str_array(e) for e in ends]
        total = _str_array(pos)
        sl: npt.NDArray[np.object_] = np.full(m, "[", dtype=object)
        prev = None
        for i, name in enumerate(names):
            if tpl.literals[i]:  # an "O" gap before the span (none between adjacent slots)
                lo = "0" if prev is None else prev
                sl = sl + "[" + lo + ", " + start_s[i] + f", {quote}O{quote}], "
            sl = sl + "[" + start_s[i] + ", " + end_s[i] + f", {quote}{name}{quote}], "
            prev = end_s[i]
        if tpl.literals[-1]:
            sl = (
                sl
                + "["
                + (prev if prev is not None else "0")
                + ", "
                + total
                + f", {quote}O{quote}]]"
            )
        else:
            sl = np.array([s[:-2] + "]" for s in sl.tolist()], dtype=object)
        spans[rows] = sl

        if legacy:
            pm: npt.NDArray[np.object_] = np.full(m, "{", dtype=object)
            for i, (key, label, name) in enumerate(zip(tpl.slots, tpl.labels, names, strict=True)):
                sep = "" if i == 0 else ", "
                pm = pm + f"{sep}'[{name}]': " + pools[label].reprs[picks[key]]
            pm = pm + "}"
            for r, v in zip(rows.tolist(), pm.tolist(), strict=True):
                masks[r] = v
        else:
            per_slot = [
                [
                    {"value": v, "start": s, "end": e, "label": label}
                    for v, s, e in zip(
                        pools[label].values[picks[key]].tolist(),
                        st.tolist(),
                        en.tolist(),
                        strict=True,
                    )
                ]
                for key, label, st, en in zip(tpl.slots, tpl.labels, starts, ends, strict=True)
            ]
            for r, row_spans in zip(rows.tolist(), zip(*per_slot, strict=True), strict=True):
                masks[r] = list(row_spans)

    language = np.array(langs, dtype=object)[lang_of]
    frame: pd.DataFrame
    if legacy:
        frame = pd.DataFrame(
            {
                "masked_text": target,
                "unmasked_text": source,
                "privacy_mask": masks,
                "span_labels": spans,
                "language": language,
            }
        )
    else:
        frame = pd.DataFrame(
            {
                "source_text": source,
                "target_text": target,
                "privacy_mask": pd.Series(masks, dtype=object),
                "span_labels": spans,
                "id": np.arange(n, dtype=np.int64),
                "language": language,
                "set": np.where(split_of, "train", "validation").astype(object),
            }
        )
    return frame


def to_legacy_schema(df: pd.DataFrame) -> pd.DataFrame:
    """Rewrite current-schema rows (``source_text`` + list ``privacy_mask``) in the original
    200k schema: ``[LABEL_N]`` masked text, dict-repr ``privacy_mask``, ``span_labels``.

    Spans must not overlap. Useful to turn any current-schema data into the seed's format.
    """
    for column in ("source_text", "privacy_mask"):
        if column not in df.columns:
            raise ConfigError(f"to_legacy_schema needs column {column!r}")
    masked_out, masks_out, spans_out = [], [], []
    for text, mask in zip(df["source_text"].tolist(), df["privacy_mask"].tolist(), strict=True):
        seen: dict[str, int] = {}
        pieces, mapping, triples = [], {}, []
        pos = 0
        for span in sorted(mask, key=lambda d: d["start"]):
            start, end, label = int(span["start"]), int(span["end"]), str(span["label"])
            if start < pos:
                raise ConfigError("to_legacy_schema: overlapping spans")
            seen[label] = seen.get(label, 0) + 1
            name = f"{label}_{seen[label]}"
            if start > pos:
                triples.append(f"[{pos}, {start}, 'O']")
            triples.append(f"[{start}, {end}, '{name}']")
            pieces.append(text[pos:start] + f"[{name}]")
            mapping[f"[{name}]"] = text[start:end]
            pos = end
        if pos < len(text) or not triples:
            triples.append(f"[{pos}, {len(text)}, 'O']")
        masked_out.append("".join(pieces) + text[pos:])
        masks_out.append(repr(mapping))
        spans_out.append("[" + ", ".join(triples) + "]")
    out: dict[str, Any] = {
        "masked_text": masked_out,
        "unmasked_text": df["source_text"].tolist(),
        "privacy_mask": masks_out,
        "span_labels": spans_out,
    }
    if "language" in df.columns:
        out["language"] = df["language"].tolist()
    frame: pd.DataFrame = pd.DataFrame(out)
    return frame


def write_dataset(path: str | os.PathLike[str], n: int, **kwargs: Any) -> Path:
    """Generate ``n`` rows (``kwargs`` as for :func:`generate_rows`) and write them to ``path``.

    The format follows the suffix: ``.jsonl``, ``.json`` (a list of records), ``.csv``
    (list-valued ``privacy_mask`` stored as a JSON string) or ``.parquet``.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in (".jsonl", ".json", ".csv", ".parquet"):
        raise ConfigError(
            f"unsupported file suffix {suffix!r}: use .jsonl, .json, .csv or .parquet"
        )
    df = generate_rows(n, **kwargs)
    if suffix == ".parquet":
        df.to_parquet(out, index=False)
    elif suffix == ".csv":
        df = df.copy()
        df["privacy_mask"] = [
            v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
            for v in df["privacy_mask"].tolist()
        ]
        df.to_csv(out, index=False)
    else:
        records = df.to_dict(orient="records")
        with out.open("w", encoding="utf-8") as fh:
            if suffix == ".json":
                json.dump(records, fh, ensure_ascii=False)
            else:
                for rec in records:
                    fh.write(json.dumps(rec, ensure_ascii=False))
                    fh.write("\n")
    return out
