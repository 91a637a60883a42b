"""``PromptBuilder``: texts -> tuning prompts, rows -> ``text_input``/``output`` examples.

The template is split once around ``{input}``, so a whole column is prompted with two vectorised
concatenations. The ``output`` is one of three targets: the masked text itself
(``masked_text``), a JSON entity list (``entities``) or ``LABEL: value`` lines
(``entity_lines``), the last two rendered from ``privacy_mask``.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

from .._exceptions import ConfigError, DatasetError

__all__ = ["PromptBuilder"]

_BY_START = itemgetter("start")


class PromptBuilder:
    """Formats texts into tuning prompts and rows into ``text_input``/``output`` examples.

    The default prompt is the seed notebook's::

        Given the information below, mask the personal identifiable information.

        Input:
        {input}

        Output:

    ``target="masked_text"`` trains the model to rewrite the text (``output`` is the
    ``target_column``); ``target="entities"`` makes ``output`` a compact JSON list
    ``[{"label": "FIRSTNAME", "value": "Omer"}, ...]`` from ``privacy_mask`` that the Masker
    grounds back onto the text; ``target="entity_lines"`` lists the same entities one
    ``LABEL: value`` a line (``NONE`` when there is no PII). On real ai4privacy rows that is
    half the characters of a rewrite but only 1.2x fewer BPE tokens (none fewer when each
    digit is a token, as in Gemini's tokenizer); on PII-dense text it is longer (see
    ``benchmarks/bench_formats.py``).

    >>> PromptBuilder().parse_input(PromptBuilder().format("Hi Ann"))
    'Hi Ann'
    """

    DEFAULT_INSTRUCTION = "Given the information below, mask the personal identifiable information."
    DEFAULT_TEMPLATE = "{instruction}\n\nInput:\n{input}\n\nOutput:\n"
    TARGETS = ("masked_text", "entities", "entity_lines")

    def __init__(
        self,
        template: str = DEFAULT_TEMPLATE,
        instruction: str = DEFAULT_INSTRUCTION,
        *,
        target: str = "masked_text",
        input_column: str = "source_text",
        target_column: str = "target_text",
    ) -> None:
        if not isinstance(template, str):
            raise ConfigError(f"template must be a string, got {type(template).__name__}")
        if not isinstance(instruction, str):
            raise ConfigError(f"instruction must be a string, got {type(instruction).__name__}")
        if target not in self.TARGETS:
            raise ConfigError(f"target must be one of {self.TARGETS}, got {target!r}")
        for arg, value in (("input_column", input_column), ("target_column", target_column)):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{arg} must be a non-empty column name, got {value!r}")
        self._prefix, self._suffix = self._split_template(template, instruction)
        self.template = template
        self.instruction = instruction
        self.target = target
        self.input_column = input_column
        self.target_column = target_column

    @staticmethod
    def _split_template(template: str, instruction: str) -> tuple[str, str]:
        """Render the template around ``{input}``: (text before it, text after it)."""
        try:
            parts = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise ConfigError(f"template is not a valid format string: {exc}") from None
        before: list[str] = []
        after: list[str] = []
        inputs = 0
        for literal, field, spec, conversion in parts:
            (after if inputs else before).append(literal)
            if field is None:
                continue
            if field not in ("instruction", "input"):
                raise ConfigError(
                    f"template field {{{field}}} is unknown: only {{instruction}} and {{input}} "
                    "are allowed (write literal braces as {{ and }})"
                )
            if spec or conversion:
                raise ConfigError(
                    f"template field {{{field}}} must not have a format spec or conversion"
                )
            if field == "input":
                inputs += 1
                if inputs > 1:
                    raise ConfigError("template must contain {input} exactly once, found it twice")
            else:
                (after if inputs else before).append(instruction)
        if inputs != 1:
            raise ConfigError("template must contain {input} exactly once, found none")
        return "".join(before), "".join(after)

    @property
    def prefix(self) -> str:
        """The prompt text before the input."""
        return self._prefix

    @property
    def suffix(self) -> str:
        """The prompt text after the input."""
        return self._suffix

    def __repr__(self) -> str:
        return f"PromptBuilder(target={self.target!r}, template={self.template!r})"

    def format(self, text: str) -> str:
        """The prompt for one input text."""
        if not isinstance(text, str):
            raise ConfigError(f"text must be a string, got {type(text).__name__}")
        return self._prefix + text + self._suffix

    def format_many(self, texts: Iterable[str]) -> list[str]:
        """Prompts for many texts, in order."""
        return [self.format(t) for t in texts]

    def parse_input(self, prompt: str) -> str:
        """The input text inside a prompt made by :meth:`format` (its inverse)."""
        if not isinstance(prompt, str):
            raise ConfigError(f"prompt must be a string, got {type(prompt).__name__}")
        lo, hi = len(self._prefix), len(prompt) - len(self._suffix)
        if hi < lo or not prompt.startswith(self._prefix) or not prompt.endswith(self._suffix):
            raise ConfigError("prompt does not match this PromptBuilder's template")
        return prompt[lo:hi]

    def build(self, df: pd.DataFrame) -> pd.DataFrame:
        """Tuning examples: columns ``text_input``, ``output`` (and ``id`` when ``df`` has it).

        Vectorised: the template is split once and whole columns are concatenated.
        """
        if not isinstance(df, pd.DataFrame):
            raise ConfigError(f"df must be a pandas DataFrame, got {type(df).__name__}")
        inputs = self._string_column(df, self.input_column)
        if self.target in ("entities", "entity_lines"):
            if "privacy_mask" not in df.columns:
                raise DatasetError(
                    f"missing column 'privacy_mask' (needed for target={self.target!r})",
                    column="privacy_mask",
                )
            render = _entities_json if self.target == "entities" else _entity_lines
            output = pd.Series(
                [
                    render(_entity_items(m, row))
                    for row, m in enumerate(df["privacy_mask"].tolist())
                ],
                dtype=object,
            ).astype(str)
        else:
            output = self._string_column(df, self.target_column)
        columns: dict[str, Any] = {}
        if "id" in df.columns:
            columns["id"] = df["id"].reset_index(drop=True)
        columns["text_input"] = self._prefix + inputs + self._suffix
        columns["output"] = output
        built: pd.DataFrame = pd.DataFrame(columns)
        return built

    @staticmethod
    def _string_column(df: pd.DataFrame, column: str) -> pd.Series:
        if column not in df.columns:
            raise DatasetError(
                f"missing column {column!r} (columns found: {sorted(map(str, df.columns))})",
                column=column,
            )
        series = df[column].reset_index(drop=True)
        if series.dtype == object or not pd.api.types.is_string_dtype(series.dtype):
            bad = np.fromiter((type(v) is not str for v in series.tolist()), bool, len(series))
        else:
            bad = series.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DatasetError(
                f"row {row}: column {column!r} is not a string", column=column, row=row
            )
        return series.astype(str)


def _entity_items(mask: object, row: int) -> list[dict[str, Any]]:
    """``[{"label": ..., "value": ...}]`` of one row's privacy_mask, in order of appearance."""
    if isinstance(mask, np.ndarray):
        mask = mask.tolist()
    if not isinstance(mask, (list, tuple)):
        raise DatasetError(
            f"row {row}: privacy_mask is not a list of spans", column="privacy_mask", row=row
        )
    try:
        spans = sorted(mask, key=_BY_START)
        return [{"label": s["label"], "value": s["value"]} for s in spans]
    except (KeyError, TypeError):
        raise DatasetError(
            f"row {row}: privacy_mask spans need value/start/end/label",
            column="privacy_mask",
            row=row,
        ) from None


def _entities_json(items: list[dict[str, Any]]) -> str:
    """The ``entities`` target: a compact JSON list, UTF-8 kept."""
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def _entity_lines(items: list[dict[str, Any]]) -> str:
    """The ``entity_lines`` target: ``LABEL: value`` a line, ``NONE`` for no PII."""
    if not items:
        return "NONE"
    return "\n".join(f"{item['label']}: {' '.join(str(item['value']).split())}" for item in items)
