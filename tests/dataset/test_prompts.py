"""pii_gemini.dataset._prompts: PromptBuilder, its template and its three targets."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from _dataset_rows import LEGACY_ROW, LEGACY_SPANS, current_row
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gemini._exceptions import ConfigError, DatasetError
from pii_gemini.dataset import (
    PromptBuilder,
    load_pii_dataset,
)
from pii_gemini.synthetic import generate_rows

SEED_PROMPT = (
    "Given the information below, mask the personal identifiable information.\n\n"
    "Input:\n{input}\n\nOutput:\n"
)


def test_default_prompt_is_the_seed_prompt() -> None:
    builder = PromptBuilder()
    assert builder.format("Hi Ann") == SEED_PROMPT.format(input="Hi Ann")
    assert builder.prefix + "X" + builder.suffix == SEED_PROMPT.format(input="X")
    assert builder.format_many(["a", "b"]) == [builder.format("a"), builder.format("b")]


def test_custom_template_and_braces() -> None:
    builder = PromptBuilder("<{instruction}> {{json}} [{input}] {instruction}", "Mask!")
    assert builder.format("t") == "<Mask!> {json} [t] Mask!"
    assert builder.parse_input(builder.format("a {x} b")) == "a {x} b"
    assert PromptBuilder("{input}").format("x") == "x"


@pytest.mark.parametrize(
    "template",
    ["no input here", "{input} and {input}", "{input} {other}", "{input!r}", "{input:>10}",
     "{input", "{0} {input}", "{}"],
)  # fmt: skip
def test_bad_templates(template: str) -> None:
    with pytest.raises(ConfigError):
        PromptBuilder(template)


@pytest.mark.parametrize(
    "kwargs",
    [{"target": "labels"}, {"input_column": ""}, {"target_column": 3}, {"instruction": None},
     {"template": None}],
)  # fmt: skip
def test_bad_builder_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        PromptBuilder(**kwargs)


def test_parse_input_rejects_foreign_prompts() -> None:
    builder = PromptBuilder()
    for prompt in ("hello", SEED_PROMPT.format(input="x")[:-3], 5):
        with pytest.raises(ConfigError, match="prompt"):
            builder.parse_input(prompt)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        builder.format(None)  # type: ignore[arg-type]


def test_build_masked_text_target() -> None:
    df = load_pii_dataset(generate_rows(30, seed=8))
    built = PromptBuilder().build(df.iloc[5:])
    assert list(built.columns) == ["id", "text_input", "output"]
    assert built.index.tolist() == list(range(25))
    for row, src, tgt, rid in zip(built.itertuples(), df["source_text"][5:], df["target_text"][5:],
                                  df["id"][5:], strict=True):  # fmt: skip
        assert row.text_input == SEED_PROMPT.format(input=src)
        assert row.output == tgt and row.id == rid
        assert PromptBuilder().parse_input(row.text_input) == src


def test_build_seed_columns_without_id() -> None:
    raw = pd.DataFrame([LEGACY_ROW])
    built = PromptBuilder(input_column="unmasked_text", target_column="masked_text").build(raw)
    assert list(built.columns) == ["text_input", "output"]
    assert built.loc[0, "output"] == LEGACY_ROW["masked_text"]


def test_build_entities_target() -> None:
    df = load_pii_dataset(pd.DataFrame([LEGACY_ROW]))
    out = PromptBuilder(target="entities").build(df).loc[0, "output"]
    assert out == (
        '[{"label":"PREFIX","value":"Mr."},{"label":"LASTNAME","value":"O\'Neil"},'
        '{"label":"CURRENCYSYMBOL","value":"£"},{"label":"AMOUNT","value":"850.75"},'
        '{"label":"FIRSTNAME","value":"Zoé"},{"label":"DATE","value":"12/05/2024"},'
        '{"label":"FIRSTNAME","value":"Zoé"}]'
    )
    assert [(e["value"], e["label"]) for e in json.loads(out)] == LEGACY_SPANS


def test_build_entity_lines_target() -> None:
    df = load_pii_dataset(pd.DataFrame([LEGACY_ROW]))
    out = PromptBuilder(target="entity_lines").build(df).loc[0, "output"]
    assert out.splitlines() == [f"{label}: {value}" for value, label in LEGACY_SPANS]
    empty = df.assign(privacy_mask=[[]])
    assert PromptBuilder(target="entity_lines").build(empty).loc[0, "output"] == "NONE"
    entities = PromptBuilder(target="entities").build(df).loc[0, "output"]
    assert len(out) < len(entities)


def test_build_errors() -> None:
    df = load_pii_dataset(pd.DataFrame([current_row()]))
    with pytest.raises(DatasetError) as info:
        PromptBuilder(input_column="text").build(df)
    assert info.value.column == "text"
    with pytest.raises(DatasetError) as info:
        PromptBuilder(target="entities").build(df.drop(columns=["privacy_mask"]))
    assert info.value.column == "privacy_mask"
    bad = pd.DataFrame({"source_text": ["ok", None, 3], "target_text": ["a", "b", "c"]})
    with pytest.raises(DatasetError) as info:
        PromptBuilder().build(bad)
    assert info.value.row == 1 and info.value.column == "source_text"
    with pytest.raises(DatasetError) as info:
        PromptBuilder(target="entities").build(df.assign(privacy_mask=["oops"]))
    assert info.value.column == "privacy_mask"
    with pytest.raises(ConfigError):
        PromptBuilder().build("not a frame")  # type: ignore[arg-type]


@settings(max_examples=100, deadline=None)
@given(st.text(), st.text(max_size=30))
def test_property_parse_input_inverts_format(text: str, instruction: str) -> None:
    builder = PromptBuilder(instruction=instruction)  # braces in the instruction stay literal
    assert builder.parse_input(builder.format(text)) == text
    built = builder.build(pd.DataFrame({"source_text": [text], "target_text": ["t"]}))
    assert built.loc[0, "text_input"] == builder.format(text)
