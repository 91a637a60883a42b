from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pii_gemini._exceptions import ConfigError, DatasetError
from pii_gemini.dataset import (
    NORMALISED_COLUMNS,
    PromptBuilder,
    load_pii_dataset,
    normalize_language,
    train_test_split,
)
from pii_gemini.labels import LABELS_200K
from pii_gemini.synthetic import generate_rows, to_legacy_schema

SEED_PROMPT = (
    "Given the information below, mask the personal identifiable information.\n\n"
    "Input:\n{input}\n\nOutput:\n"
)

# A hand-written row in the original (Nov 2023) 200k schema, with the quirks: adjacent
# placeholders, a repeated label, a literal bracket that is no placeholder, a quote in a value.
LEGACY_SOURCE = "[sic] Dear Mr.O'Neil, pay £850.75 to Zoé before 12/05/2024, Zoé said."
LEGACY_ROW: dict[str, Any] = {
    "masked_text": "[sic] Dear [PREFIX_1][LASTNAME_1], pay [CURRENCYSYMBOL_1][AMOUNT_1] to "
    "[FIRSTNAME_1] before [DATE_1], [FIRSTNAME_2] said.",
    "unmasked_text": LEGACY_SOURCE,
    "privacy_mask": "{'[PREFIX_1]': 'Mr.', '[LASTNAME_1]': \"O'Neil\", '[CURRENCYSYMBOL_1]': '£', "
    "'[AMOUNT_1]': '850.75', '[FIRSTNAME_1]': 'Zoé', '[DATE_1]': '12/05/2024', "
    "'[FIRSTNAME_2]': 'Zoé'}",
    "span_labels": "[[0, 11, 'O'], [11, 14, 'PREFIX_1'], [14, 20, 'LASTNAME_1'], [20, 26, 'O'], "
    "[26, 27, 'CURRENCYSYMBOL_1'], [27, 33, 'AMOUNT_1'], [33, 37, 'O'], [37, 40, 'FIRSTNAME_1'], "
    "[40, 48, 'O'], [48, 58, 'DATE_1'], [58, 60, 'O'], [60, 63, 'FIRSTNAME_2'], [63, 69, 'O']]",
}
LEGACY_SPANS = [
    ("Mr.", "PREFIX"), ("O'Neil", "LASTNAME"), ("£", "CURRENCYSYMBOL"), ("850.75", "AMOUNT"),
    ("Zoé", "FIRSTNAME"), ("12/05/2024", "DATE"), ("Zoé", "FIRSTNAME"),
]  # fmt: skip


def current_row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "source_text": "Dear Omar, call 555-0100.",
        "target_text": "Dear [FIRSTNAME], call [PHONENUMBER].",
        "privacy_mask": [
            {"value": "Omar", "start": 5, "end": 9, "label": "FIRSTNAME"},
            {"value": "555-0100", "start": 16, "end": 24, "label": "PHONENUMBER"},
        ],
        "id": 7,
        "language": "en",
        "set": "train",
    }
    row.update(overrides)
    return row


def check_normalised(df: pd.DataFrame) -> None:
    assert list(df.columns) == list(NORMALISED_COLUMNS)
    for row in df.itertuples():
        assert isinstance(row.id, str)
        assert isinstance(row.privacy_mask, list)
        starts = [s["start"] for s in row.privacy_mask]
        assert starts == sorted(starts)
        for span in row.privacy_mask:
            assert set(span) == {"value", "start", "end", "label"}
            assert row.source_text[span["start"] : span["end"]] == span["value"]
            assert "_" not in span["label"]


# ----------------------------------------------------------------------------- schemas


def test_legacy_row_with_span_labels() -> None:
    df = load_pii_dataset(pd.DataFrame([LEGACY_ROW]))
    check_normalised(df)
    assert df.attrs["schema"] == "legacy"
    assert [(s["value"], s["label"]) for s in df.loc[0, "privacy_mask"]] == LEGACY_SPANS
    assert df.loc[0, "target_text"] == LEGACY_ROW["masked_text"]
    assert df.loc[0, "id"] == "0" and df.loc[0, "language"] is None


def test_legacy_row_without_span_labels_walks_placeholders() -> None:
    row = {k: v for k, v in LEGACY_ROW.items() if k != "span_labels"}
    with_spans = load_pii_dataset(pd.DataFrame([LEGACY_ROW]))
    without = load_pii_dataset(pd.DataFrame([row]))
    assert without.loc[0, "privacy_mask"] == with_spans.loc[0, "privacy_mask"]


def test_legacy_privacy_mask_in_other_order_and_as_dict() -> None:
    mapping = {
        "[DATE_1]": "12/05/2024", "[PREFIX_1]": "Mr.", "[LASTNAME_1]": "O'Neil",
        "[CURRENCYSYMBOL_1]": "£", "[AMOUNT_1]": "850.75", "[FIRSTNAME_1]": "Zoé",
        "[FIRSTNAME_2]": "Zoé",
    }  # fmt: skip
    reordered = load_pii_dataset(pd.DataFrame([{**LEGACY_ROW, "privacy_mask": repr(mapping)}]))
    as_dict = load_pii_dataset(pd.DataFrame([{**LEGACY_ROW, "privacy_mask": mapping}]))
    expected = load_pii_dataset(pd.DataFrame([LEGACY_ROW])).loc[0, "privacy_mask"]
    assert reordered.loc[0, "privacy_mask"] == expected == as_dict.loc[0, "privacy_mask"]


@pytest.mark.parametrize("schema", ["current", "legacy"])
def test_synthetic_round_trip(schema: str) -> None:
    raw = generate_rows(300, seed=11, schema=schema, languages=("en", "fr", "de", "it"))
    df = load_pii_dataset(raw)
    check_normalised(df)
    assert len(df) == 300 and df.attrs["schema"] == schema and df.attrs["skipped_rows"] == 0
    src = "source_text" if schema == "current" else "unmasked_text"
    assert df["source_text"].tolist() == raw[src].tolist()
    assert set(df["language"]) == {"en", "fr", "de", "it"}


def test_both_schemas_give_the_same_spans() -> None:
    cur = load_pii_dataset(generate_rows(200, seed=5))
    leg = load_pii_dataset(generate_rows(200, seed=5, schema="legacy"))
    assert cur["privacy_mask"].tolist() == leg["privacy_mask"].tolist()
    # the masked texts differ only by the _N index
    stripped = leg["target_text"].str.replace(r"_\d+\]", "]", regex=True)
    assert stripped.tolist() == cur["target_text"].tolist()


@pytest.mark.parametrize(
    "mask",
    [
        json.dumps(current_row()["privacy_mask"]),
        repr(current_row()["privacy_mask"]),
        np.array(current_row()["privacy_mask"], dtype=object),
        list(reversed(current_row()["privacy_mask"])),
    ],
    ids=["json-string", "python-repr", "numpy", "unordered"],
)
def test_current_privacy_mask_forms(mask: Any) -> None:
    df = load_pii_dataset(pd.DataFrame([current_row(privacy_mask=mask)]))
    assert df.loc[0, "privacy_mask"] == current_row()["privacy_mask"]
    assert df.loc[0, "id"] == "7"


def test_masked_text_schema_400k_style() -> None:
    raw = pd.DataFrame(
        [
            {
                "source_text": "Ciao Giulia Rossi",
                "masked_text": "Ciao [GIVENNAME] [SURNAME]",
                "privacy_mask": [
                    {
                        "value": "Giulia",
                        "start": 5,
                        "end": 11,
                        "label": "GIVENNAME",
                        "label_index": 1,
                    },
                    {
                        "value": "Rossi",
                        "start": 12,
                        "end": 17,
                        "label": "SURNAME",
                        "label_index": 1,
                    },
                ],
                "uid": 9001,
                "language": "Italian",
                "locale": "IT",
                "split": "train",
            }
        ]
    )
    df = load_pii_dataset(raw)
    check_normalised(df)
    assert df.attrs["schema"] == "masked_text"
    assert df.loc[0, "id"] == "9001" and df.loc[0, "language"] == "it"
    assert df.loc[0, "target_text"] == "Ciao [GIVENNAME] [SURNAME]"


def test_300k_style_labels_and_language_names() -> None:
    raw = pd.DataFrame(
        [
            current_row(
                source_text="Anna Maria Smith",
                target_text="[GIVENNAME1] [GIVENNAME2] [LASTNAME1]",
                privacy_mask=[
                    {"value": "Anna", "start": 0, "end": 4, "label": "GIVENNAME1"},
                    {"value": "Maria", "start": 5, "end": 10, "label": "GIVENNAME2"},
                    {"value": "Smith", "start": 11, "end": 16, "label": "LASTNAME1"},
                ],
                id="40767A",
                language="English",
            )
        ]
    )
    df = load_pii_dataset(raw)
    assert [s["label"] for s in df.loc[0, "privacy_mask"]] == [
        "GIVENNAME1",
        "GIVENNAME2",
        "LASTNAME1",
    ]
    assert df.loc[0, "language"] == "en" and df.loc[0, "id"] == "40767A"


def test_forced_schema() -> None:
    raw = pd.DataFrame([current_row()])
    assert load_pii_dataset(raw, schema="current").attrs["schema"] == "current"
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(raw, schema="legacy")
    assert info.value.column == "unmasked_text"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("English", "en"), ("EN", "en"), (" fr ", "fr"), ("en_US", "en"), ("pt-BR", "pt"),
     (None, None), (float("nan"), None), ("", None), ("Klingon language", "Klingon language"),
     ("Dutch", "nl")],
)  # fmt: skip
def test_normalize_language(value: object, expected: str | None) -> None:
    assert normalize_language(value) == expected


# ----------------------------------------------------------------------------- sources


@pytest.fixture
def synthetic_current() -> pd.DataFrame:
    return generate_rows(40, seed=21, languages=("en", "de"))


def test_source_files(tmp_path: Path, synthetic_current: pd.DataFrame) -> None:
    expected = load_pii_dataset(synthetic_current)
    jsonl = tmp_path / "rows.jsonl"
    synthetic_current.to_json(jsonl, orient="records", lines=True, force_ascii=False)
    parquet = tmp_path / "rows.parquet"
    synthetic_current.to_parquet(parquet)
    csv = tmp_path / "rows.csv"
    as_csv = synthetic_current.assign(
        privacy_mask=[json.dumps(m) for m in synthetic_current["privacy_mask"]]
    )
    as_csv.to_csv(csv, index=False)
    as_json = tmp_path / "rows.json"
    as_json.write_text(
        json.dumps({"rows": json.loads(synthetic_current.to_json(orient="records"))})
    )
    gz = tmp_path / "rows.jsonl.gz"
    synthetic_current.to_json(gz, orient="records", lines=True)
    for path in (jsonl, parquet, csv, as_json, gz, str(jsonl)):
        df = load_pii_dataset(path)
        pd.testing.assert_frame_equal(df, expected, check_dtype=False)


def test_json_file_forms(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"source": "hand-made", "row": current_row()}))
    assert len(load_pii_dataset(one)) == 1
    lines = tmp_path / "lines.json"
    lines.write_text(json.dumps(current_row()) + "\n" + json.dumps(current_row(id=8)) + "\n")
    assert load_pii_dataset(lines)["id"].tolist() == ["7", "8"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1}')
    with pytest.raises(DatasetError, match=r"bad\.json"):
        load_pii_dataset(bad)


def test_datasets_dataset_and_dict(synthetic_current: pd.DataFrame) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_pandas(synthetic_current)
    expected = load_pii_dataset(synthetic_current)
    pd.testing.assert_frame_equal(load_pii_dataset(ds), expected, check_dtype=False)
    dd = datasets.DatasetDict({"train": ds, "validation": ds.select(range(5))})
    assert len(load_pii_dataset(dd, split="validation")) == 5
    with pytest.raises(DatasetError, match="available splits"):
        load_pii_dataset(dd, split="test")


@pytest.fixture
def hf_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    datasets = pytest.importorskip("datasets")
    import huggingface_hub.constants

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # both libraries read the variables at import time
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def test_local_folder_through_datasets_offline(tmp_path: Path, hf_offline: None) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    a = generate_rows(12, seed=1)
    b = generate_rows(8, seed=2)
    a.to_json(folder / "part-a.jsonl", orient="records", lines=True, force_ascii=False)
    b.to_json(folder / "part-b.jsonl", orient="records", lines=True, force_ascii=False)
    df = load_pii_dataset(folder, cache_dir=str(tmp_path / "cache"))
    check_normalised(df)
    assert sorted(df["source_text"]) == sorted([*a["source_text"], *b["source_text"]])


def test_hub_name_offline_gives_helpful_error(tmp_path: Path, hf_offline: None) -> None:
    with pytest.raises(DatasetError, match="local path") as info:
        load_pii_dataset("no-such-org/no-such-dataset", cache_dir=str(tmp_path / "cache"))
    assert "no-such-org/no-such-dataset" in str(info.value)


def test_missing_local_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        load_pii_dataset(tmp_path / "missing.jsonl")
    with pytest.raises(DatasetError, match="no such file"):
        load_pii_dataset("./nowhere")


def test_unsupported_and_unreadable_files(tmp_path: Path) -> None:
    txt = tmp_path / "rows.txt"
    txt.write_text("hello")
    with pytest.raises(DatasetError, match="unsupported file type"):
        load_pii_dataset(txt)
    broken = tmp_path / "rows.parquet"
    broken.write_text("not parquet")
    with pytest.raises(DatasetError, match=r"could not read rows\.parquet"):
        load_pii_dataset(broken)


def test_bad_source_and_arguments() -> None:
    raw = pd.DataFrame([current_row()])
    with pytest.raises(ConfigError, match="source"):
        load_pii_dataset(42)
    with pytest.raises(ConfigError, match="do not apply"):
        load_pii_dataset(raw, cache_dir="/tmp")
    with pytest.raises(ConfigError, match="schema"):
        load_pii_dataset(raw, schema="v2")
    with pytest.raises(ConfigError, match="errors"):
        load_pii_dataset(raw, errors="ignore")
    for limit in (-1, 1.5, True):
        with pytest.raises(ConfigError, match="limit"):
            load_pii_dataset(raw, limit=limit)  # type: ignore[arg-type]
    for language in ("", [], [3]):
        with pytest.raises(ConfigError, match="language"):
            load_pii_dataset(raw, language=language)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- validation


def test_unknown_schema_names_columns() -> None:
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(pd.DataFrame({"text": ["a"], "label": ["b"]}))
    message = str(info.value)
    assert "unknown dataset schema" in message and "'text'" in message and "source_text" in message


def test_missing_privacy_mask_column() -> None:
    raw = pd.DataFrame([current_row()]).drop(columns=["privacy_mask"])
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(raw)
    assert info.value.column == "privacy_mask"


BAD_ROWS = [
    ("mask-unparsable", {"privacy_mask": "[{'value': 'Omar', "}, "privacy_mask", "parsable"),
    ("mask-not-list", {"privacy_mask": 5}, "privacy_mask", "not a list"),
    ("mask-missing-key", {"privacy_mask": [{"value": "Omar", "start": 5, "end": 9}]},
     "privacy_mask", "lacks"),
    ("offset-out-of-range",
     {"privacy_mask": [{"value": "Omar", "start": 5, "end": 99, "label": "FIRSTNAME"}]},
     "privacy_mask", "out of range"),
    ("negative-offset",
     {"privacy_mask": [{"value": "Omar", "start": -4, "end": 0, "label": "FIRSTNAME"}]},
     "privacy_mask", "out of range"),
    ("value-mismatch",
     {"privacy_mask": [{"value": "Omar", "start": 4, "end": 8, "label": "FIRSTNAME"}]},
     "privacy_mask", "!= source_text"),
    ("float-offset",
     {"privacy_mask": [{"value": "Omar", "start": 5.5, "end": 9, "label": "FIRSTNAME"}]},
     "privacy_mask", "integers"),
    ("bad-label",
     {"privacy_mask": [{"value": "Omar", "start": 5, "end": 9, "label": "first name"}]},
     "privacy_mask", "label"),
    ("text-not-string", {"source_text": None}, "source_text", "not a string"),
    ("target-not-string", {"target_text": 3}, "target_text", "not a string"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "column", "match"), [b[1:] for b in BAD_ROWS],
                         ids=[b[0] for b in BAD_ROWS])  # fmt: skip
def test_malformed_current_rows(overrides: dict[str, Any], column: str, match: str) -> None:
    raw = pd.DataFrame([current_row(id=1), current_row(id=2, **overrides), current_row(id=3)])
    with pytest.raises(DatasetError, match=match) as info:
        load_pii_dataset(raw)
    assert info.value.row == 1 and info.value.column == column
    assert "row 1" in str(info.value) and "Omar" not in str(info.value)
    assert "555-0100" not in str(info.value)
    skipped = load_pii_dataset(raw, errors="skip")
    assert skipped["id"].tolist() == ["1", "3"] and skipped.attrs["skipped_rows"] == 1


BAD_LEGACY = [
    ("dict-unparsable", {"privacy_mask": "{'[PREFIX_1]': 'Mr."}, "privacy_mask"),
    ("dict-not-dict", {"privacy_mask": "['Mr.']"}, "privacy_mask"),
    ("dict-value-differs", {"privacy_mask": LEGACY_ROW["privacy_mask"].replace("850.75", "850.76")},
     "privacy_mask"),
    ("span-out-of-range", {"span_labels": "[[0, 11, 'O'], [11, 140, 'PREFIX_1']]"}, "span_labels"),
    ("span-unparsable", {"span_labels": "[[0, 11, O]]"}, "span_labels"),
    ("text-not-string", {"unmasked_text": 12}, "unmasked_text"),
    ("masked-not-string", {"masked_text": None}, "masked_text"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "column"), [b[1:] for b in BAD_LEGACY],
                         ids=[b[0] for b in BAD_LEGACY])  # fmt: skip
def test_malformed_legacy_rows(overrides: dict[str, Any], column: str) -> None:
    raw = pd.DataFrame([LEGACY_ROW, {**LEGACY_ROW, **overrides}])
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(raw)
    assert info.value.row == 1 and info.value.column == column
    assert "O'Neil" not in str(info.value) and "850.75" not in str(info.value)
    assert len(load_pii_dataset(raw, errors="skip")) == 1


def test_legacy_walk_detects_misalignment() -> None:
    row = {k: v for k, v in LEGACY_ROW.items() if k != "span_labels"}
    bad_value = {**row, "privacy_mask": row["privacy_mask"].replace("850.75", "999.99")}
    bad_literal = {**row, "masked_text": row["masked_text"].replace("Dear", "Hi")}
    for bad, column in ((bad_value, "privacy_mask"), (bad_literal, "masked_text")):
        with pytest.raises(DatasetError) as info:
            load_pii_dataset(pd.DataFrame([bad]))
        assert info.value.column == column and info.value.row == 0


def test_missing_ids_are_an_error() -> None:
    raw = pd.DataFrame([current_row(), current_row(id=None)])
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(raw)
    assert info.value.column == "id" and info.value.row == 1


# ----------------------------------------------------------------------------- filter, limit


def test_language_filter_and_limit() -> None:
    raw = generate_rows(200, seed=4, languages=("en", "fr", "de"))
    fr = load_pii_dataset(raw, language="fr")
    assert set(fr["language"]) == {"fr"} and len(fr) == (raw["language"] == "fr").sum()
    two = load_pii_dataset(raw, language=["fr", "German"])
    assert set(two["language"]) == {"fr", "de"}
    first = load_pii_dataset(raw, language="de", limit=5)
    assert (
        first["id"].tolist() == raw.loc[raw["language"] == "de", "id"].astype(str).head(5).tolist()
    )
    assert len(load_pii_dataset(raw, limit=0)) == 0


def test_language_filter_needs_a_language_column() -> None:
    with pytest.raises(DatasetError) as info:
        load_pii_dataset(pd.DataFrame([LEGACY_ROW]), language="fr")
    assert info.value.column == "language"


def test_limit_counts_good_rows_when_skipping() -> None:
    rows = [current_row(id=i) for i in range(6)]
    rows[1] = current_row(id=1, source_text=None)
    df = load_pii_dataset(pd.DataFrame(rows), limit=3, errors="skip")
    assert df["id"].tolist() == ["0", "2", "3"] and df.attrs["skipped_rows"] == 1
    # several skipped rows: later chunks top the result up to the limit, in order
    many = [current_row(id=i, source_text=None if i in (1, 2, 3) else current_row()["source_text"])
            for i in range(10)]  # fmt: skip
    df = load_pii_dataset(pd.DataFrame(many), limit=5, errors="skip")
    assert df["id"].tolist() == ["0", "4", "5", "6", "7"] and df.attrs["skipped_rows"] == 3
    # in raise mode rows past the limit are not even looked at
    rows[5] = current_row(id=5, source_text=None)
    assert len(load_pii_dataset(pd.DataFrame(rows[:1] + rows[2:]), limit=2)) == 2


def test_input_frame_is_not_modified() -> None:
    raw = pd.DataFrame([current_row(privacy_mask=list(reversed(current_row()["privacy_mask"])))])
    before = raw.copy(deep=True)
    load_pii_dataset(raw)
    pd.testing.assert_frame_equal(raw, before)


# ----------------------------------------------------------------------------- splitting


def test_head_tail_split_matches_the_seed() -> None:
    df = pd.DataFrame({"x": range(2000)})
    train, test = train_test_split(df)
    assert len(train) == 1900 and len(test) == 100
    assert train["x"].tolist() == list(range(1900)) and test["x"].tolist() == list(
        range(1900, 2000)
    )
    assert test.index.tolist() == list(range(100))


def test_shuffle_split_is_seeded() -> None:
    df = pd.DataFrame({"x": range(50)})
    a_train, a_test = train_test_split(df, test_size=0.2, method="shuffle", seed=1)
    _b_train, b_test = train_test_split(df, test_size=0.2, method="shuffle", seed=1)
    _, c_test = train_test_split(df, test_size=0.2, method="shuffle", seed=2)
    assert len(a_test) == 10 and len(a_train) == 40
    assert a_test["x"].tolist() == b_test["x"].tolist() != c_test["x"].tolist()
    assert sorted(a_train["x"].tolist() + a_test["x"].tolist()) == list(range(50))
    assert a_train.index.tolist() == list(range(40))


@pytest.mark.parametrize(
    "kwargs",
    [{"test_size": 0}, {"test_size": 10}, {"test_size": 11}, {"test_size": -1},
     {"test_size": 1.0}, {"test_size": 0.0}, {"test_size": 0.01}, {"test_size": True},
     {"test_size": "5"}, {"method": "random"}, {"seed": -1}],
)  # fmt: skip
def test_bad_split_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        train_test_split(pd.DataFrame({"x": range(10)}), **kwargs)


def test_split_needs_a_frame() -> None:
    with pytest.raises(ConfigError):
        train_test_split([1, 2, 3])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- prompts


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


# ----------------------------------------------------------------------------- properties

_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@st.composite
def rows_with_spans(draw: st.DrawFn) -> dict[str, Any]:
    """A text made of literal pieces and PII values (quotes, backslashes, brackets, unicode)."""
    piece = st.tuples(_TEXT, st.text(min_size=1, max_size=10), st.sampled_from(sorted(LABELS_200K)))
    pieces = draw(st.lists(piece, max_size=6))
    tail = draw(_TEXT)
    text, spans = "", []
    for literal, value, label in pieces:
        text += literal
        spans.append({"value": value, "start": len(text), "end": len(text) + len(value),
                      "label": label})  # fmt: skip
        text += value
    text += tail
    return {"source_text": text, "target_text": "", "privacy_mask": spans, "language": "en"}


@settings(max_examples=60, deadline=None)
@given(st.lists(rows_with_spans(), min_size=1, max_size=4))
def test_property_spans_survive_both_schemas(rows: list[dict[str, Any]]) -> None:
    current = pd.DataFrame(rows)
    legacy = to_legacy_schema(current)
    from_current = load_pii_dataset(current)
    from_legacy = load_pii_dataset(legacy)
    without_offsets = load_pii_dataset(legacy.drop(columns=["span_labels"]))
    expected = [row["privacy_mask"] for row in rows]
    assert from_current["privacy_mask"].tolist() == expected
    assert from_legacy["privacy_mask"].tolist() == expected
    assert without_offsets["privacy_mask"].tolist() == expected  # walked from masked_text


@settings(max_examples=100, deadline=None)
@given(st.text(), st.text(max_size=30))
def test_property_parse_input_inverts_format(text: str, instruction: str) -> None:
    builder = PromptBuilder(instruction=instruction)  # braces in the instruction stay literal
    assert builder.parse_input(builder.format(text)) == text
    built = builder.build(pd.DataFrame({"source_text": [text], "target_text": ["t"]}))
    assert built.loc[0, "text_input"] == builder.format(text)
