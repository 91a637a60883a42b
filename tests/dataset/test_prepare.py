"""pii_gemini.dataset._prepare: the streamed files equal the in-memory pipeline's rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pii_gemini._exceptions import ConfigError, DatasetError
from pii_gemini.dataset import PromptBuilder, load_pii_dataset, train_test_split
from pii_gemini.dataset import _prepare as prepare_module
from pii_gemini.dataset._prepare import prepare_files
from pii_gemini.synthetic import generate_rows, to_legacy_schema

_ROWS = generate_rows(300, seed=8, languages=("en", "fr", "de"))
# texts that need JSON escapes: quotes, backslashes, newlines, a tab, control and non-ASCII
_ODD = 'He said "hi"\\ then\nleft\tat 3\x01pm — Zoé ✓ '


def _with_odd_texts(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    rows["source_text"] = [_ODD + t if i % 7 == 0 else t for i, t in enumerate(rows["source_text"])]
    rows["target_text"] = [_ODD + t if i % 7 == 0 else t for i, t in enumerate(rows["target_text"])]
    rows["privacy_mask"] = [
        [dict(s, start=s["start"] + len(_ODD), end=s["end"] + len(_ODD)) for s in m]
        if i % 7 == 0 else m
        for i, m in enumerate(rows["privacy_mask"])
    ]  # fmt: skip
    return rows


def _in_memory(source: Any, target: str, split: dict[str, Any], **load: Any) -> list[Any]:
    df = load_pii_dataset(source, **load)
    prompts = PromptBuilder(target=target).build(df)
    full = pd.concat([df, prompts.drop(columns=["id"])], axis=1)
    train, test = train_test_split(full, **split)
    return [json.loads(part.to_json(orient="records", force_ascii=False)) for part in (train, test)]


def _streamed(source: Any, out: Path, target: str, split: dict[str, Any], **load: Any) -> Any:
    summary = prepare_files(source, out, builder=PromptBuilder(target=target), **split, **load)
    files = [summary.train_path, summary.test_path]
    records = [[json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]
               for p in files]  # fmt: skip
    assert [summary.train_rows, summary.test_rows] == [len(r) for r in records]
    return records, summary


def _write(rows: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        rows.to_parquet(path)
    elif path.suffix == ".csv":
        rows.assign(privacy_mask=rows["privacy_mask"].map(json.dumps)).to_csv(path, index=False)
    else:
        rows.to_json(path, orient="records", lines=True, force_ascii=False)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet", ".csv"])
@pytest.mark.parametrize(
    "split", [{"test_size": 100}, {"test_size": 0.2, "method": "shuffle", "seed": 3}]
)
def test_streamed_files_equal_the_in_memory_pipeline(
    tmp_path: Path, suffix: str, split: dict[str, Any]
) -> None:
    path = _write(_with_odd_texts(_ROWS), tmp_path / f"rows{suffix}")
    got, summary = _streamed(path, tmp_path / "out", "masked_text", split)
    assert got == _in_memory(path, "masked_text", split)
    assert summary.streamed == (suffix != ".csv")


@pytest.mark.parametrize("target", ["entities", "entity_lines"])
def test_entity_targets_and_the_legacy_schema(tmp_path: Path, target: str) -> None:
    path = _write(to_legacy_schema(_ROWS), tmp_path / "legacy.parquet")
    split = {"test_size": 50}
    got, _ = _streamed(path, tmp_path / "out", target, split)
    assert got == _in_memory(path, target, split)


def test_filters_limit_and_skipped_rows(tmp_path: Path) -> None:
    rows = _ROWS.copy()
    rows.loc[5, "source_text"] = None
    path = _write(rows, tmp_path / "rows.jsonl")
    load = {"language": ["fr", "de"], "limit": 120, "errors": "skip"}
    got, summary = _streamed(path, tmp_path / "out", "masked_text", {"test_size": 20}, **load)
    assert got == _in_memory(path, "masked_text", {"test_size": 20}, **load)
    assert summary.skipped_rows == (1 if rows.loc[5, "language"] in ("fr", "de") else 0)


def test_small_batches_split_across_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepare_module, "_BATCH_ROWS", 7)
    path = _write(_ROWS, tmp_path / "rows.parquet")
    for split in ({"test_size": 33}, {"test_size": 33, "method": "shuffle", "seed": 1}):
        got, _ = _streamed(path, tmp_path / "out", "masked_text", split)
        assert got == _in_memory(path, "masked_text", split)


def test_nothing_is_replaced_when_the_split_is_impossible(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "train.jsonl").write_text("keep me\n")
    path = _write(_ROWS.head(10), tmp_path / "rows.jsonl")
    with pytest.raises(ConfigError):
        prepare_files(path, out, test_size=10)
    with pytest.raises(DatasetError):
        prepare_files(path, out, language="it")
    assert (out / "train.jsonl").read_text() == "keep me\n"
    assert sorted(p.name for p in out.iterdir()) == ["train.jsonl"]  # no temporary files left


def test_skip_counts_unparseable_lines_and_bad_rows_by_reason(tmp_path: Path) -> None:
    path = _write(_ROWS.head(30), tmp_path / "rows.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[7])
    broken["source_text"] = None
    lines[3] = '{"source_text": "Omar'
    lines[7] = json.dumps(broken)
    path.write_text("\n".join([*lines[:10], "", *lines[10:]]) + "\n", encoding="utf-8")
    summary = prepare_files(path, tmp_path / "out", test_size=5, errors="skip")
    assert (summary.train_rows, summary.test_rows, summary.skipped_rows) == (23, 5, 2)
    assert dict(summary.skipped_reasons) == {
        "line is not a JSON object": 1,
        "malformed 'source_text'": 1,
    }
    with pytest.raises(DatasetError, match=r"rows\.jsonl.*line 4 is not a JSON object"):
        prepare_files(path, tmp_path / "out")
    lines[3] = lines[4]
    path.write_text("\n".join([*lines[:6], "", *lines[6:]]) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"rows\.jsonl line 9: column 'source_text'"):
        prepare_files(path, tmp_path / "out")  # line 8 of the rows, after one blank line
