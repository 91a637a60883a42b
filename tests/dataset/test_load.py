"""pii_gemini.dataset._load: arguments and every source (files, frames, datasets, Hub)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from _dataset_rows import check_normalised, current_row

from pii_gemini._exceptions import ConfigError, DatasetError
from pii_gemini.dataset import load_pii_dataset
from pii_gemini.dataset._prepare import prepare_files
from pii_gemini.synthetic import generate_rows


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


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_latin1_file_is_named_as_not_utf8(tmp_path: Path, suffix: str) -> None:
    row = {"source_text": "Call René Müller.", "target_text": "Call [FIRSTNAME] [LASTNAME]."}
    path = tmp_path / f"latin1{suffix}"
    if suffix == ".jsonl":
        text = json.dumps(row, ensure_ascii=False) + "\n"
    else:
        text = pd.DataFrame([row]).to_csv(index=False)
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(DatasetError, match=r"not UTF-8.*iconv -f latin1 -t utf-8") as info:
        load_pii_dataset(path)
    assert "René" not in str(info.value)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".json"])
def test_latin1_past_the_first_lines_names_its_line_in_load_and_prepare(
    tmp_path: Path, suffix: str
) -> None:
    """ASCII at first (so Arrow's reader takes the file), Latin-1 on line 5: the error names
    line 5, the encoding and the fix, whichever reader meets it, in load and in prepare."""
    rows = [current_row(id=i) for i in range(8)]
    rows[4 if suffix == ".jsonl" else 3]["source_text"] += " René"  # after a header or "["
    path = tmp_path / f"latin1{suffix}"
    if suffix == ".jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    elif suffix == ".json":
        text = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n"
    else:
        frame = pd.DataFrame(rows).assign(privacy_mask=lambda f: f["privacy_mask"].map(json.dumps))
        text = frame.to_csv(index=False)
    path.write_bytes(text.encode("latin-1"))
    expected = r"line 5 is not UTF-8 text.*iconv -f latin1 -t utf-8"
    for errors in ("raise", "skip"):
        with pytest.raises(DatasetError, match=expected) as info:
            load_pii_dataset(path, errors=errors)
        assert "René" not in str(info.value)
        with pytest.raises(DatasetError, match=expected):
            prepare_files(path, tmp_path / "out", test_size=2, errors=errors)


def _jsonl_with_gaps(path: Path, bad_line: str) -> Path:
    """Rows on lines 1, 3 and 6; line 2 and 5 blank, line 4 ``bad_line`` (so row != line)."""
    good = [json.dumps(current_row(id=i)) for i in range(3)]
    path.write_text("\n".join([good[0], "", good[1], bad_line, "  ", good[2]]) + "\n")
    return path


def test_jsonl_errors_name_the_file_line_not_the_row(tmp_path: Path) -> None:
    """Blank lines count: the message names line 4 of the file, where the editor shows it."""
    spans = [{"value": "Omar", "start": 50, "end": 54, "label": "FIRSTNAME"}]
    bad_row = json.dumps(current_row(id=9, privacy_mask=spans))
    path = _jsonl_with_gaps(tmp_path / "gaps.jsonl", bad_row)
    with pytest.raises(DatasetError, match=r"gaps\.jsonl line 4: column 'privacy_mask'") as info:
        load_pii_dataset(path)
    assert (info.value.row, info.value.column) == (2, "privacy_mask")
    not_json = _jsonl_with_gaps(tmp_path / "broken.jsonl", '{"source_text": "Omar')
    with pytest.raises(DatasetError, match=r"broken\.jsonl.*line 4 is not a JSON object"):
        load_pii_dataset(not_json)


def test_skip_drops_unparseable_jsonl_lines_and_counts_them_by_reason(tmp_path: Path) -> None:
    path = _jsonl_with_gaps(tmp_path / "broken.jsonl", '{"source_text": "Omar')
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(current_row(id=5, source_text=None)) + "\n[1, 2]\n")
    df = load_pii_dataset(path, errors="skip")
    assert df["id"].tolist() == ["0", "1", "2"]
    assert df.attrs["skipped_rows"] == 3
    assert df.attrs["skipped_reasons"] == {
        "line is not a JSON object": 2,
        "malformed 'source_text'": 1,
    }


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".parquet", "frame"])
def test_a_row_without_its_id_is_malformed_skipped_with_skip(tmp_path: Path, suffix: str) -> None:
    """Ids are read from ``id``: a row without one is that row's error, named with raise and
    skipped and counted with errors="skip" (it stopped the whole load either way). (CSV
    has no null: an empty cell is read as the text it holds, an empty id.)"""
    rows = [current_row(id=f"r{i}") for i in range(6)]
    rows[3]["id"] = None
    frame = pd.DataFrame(rows)
    if suffix == "frame":
        source: object = frame
    else:
        source = tmp_path / f"rows{suffix}"
        if suffix == ".jsonl":
            frame.to_json(source, orient="records", lines=True)
        elif suffix == ".json":
            frame.to_json(source, orient="records")
        else:
            frame.to_parquet(source)
    with pytest.raises(DatasetError, match=r"id is missing") as caught:
        load_pii_dataset(source)
    assert caught.value.row == 3 or "line 4" in str(caught.value)
    df = load_pii_dataset(source, errors="skip")
    assert df["id"].tolist() == ["r0", "r1", "r2", "r4", "r5"]
    assert df.attrs["skipped_rows"] == 1
    assert df.attrs["skipped_reasons"] == {"malformed 'id'": 1}
