"""User mistakes are named as such: the option (exit 2) or the file (exit 3), never a library
parameter or an ``unexpected`` error (exit 1). Each test failed before."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from _cli_support import Runner

from pii_gemini import cli
from pii_gemini.synthetic import write_dataset

_MASK = ["mask", "in.jsonl", "out.jsonl", "--model", "m"]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        ([*_MASK, "--concurrency", "100000"], "--concurrency"),
        ([*_MASK, "--rpm", "inf"], "--rpm"),
        ([*_MASK, "--tpm", "nan"], "--tpm"),
        (["mask", "in.jsonl", "out.jsonl", "--model", ""], "--model"),
        (["tune", "train.jsonl", "--learning-rate", "inf", "--dry-run"], "--learning-rate"),
        (["tune", "train.jsonl", "--model-id", "BAD_ID"], "--model-id"),
    ],
)
def test_a_value_the_command_cannot_use_is_refused_by_the_parser(
    run: Runner, argv: list[str], named: str
) -> None:
    result = run(*argv)
    assert result.code == 2, result.err
    assert f"UsageError: {named}" in result.err
    for library in ("requests_per_minute", "model_id", "learning_rate", "RuntimeError"):
        assert library not in result.err


def test_concurrency_up_to_the_documented_bound_is_accepted(run: Runner) -> None:
    result = run(*_MASK, "--concurrency", "1024")
    assert result.code == 3 and "in.jsonl" in result.err  # parsed: the missing input is next


@pytest.mark.parametrize(
    "argv",
    [["mask", "{dir}", "x.jsonl", "--model", "m"], ["unmask", "{dir}", "x.txt", "--vault", "v"]],
)
def test_a_folder_given_as_input_is_said_to_be_a_folder(
    run: Runner, tmp_path: Path, argv: list[str]
) -> None:
    result = run(*[a.format(dir=tmp_path) for a in argv])
    assert result.code == 3 and "is a folder, not a file" in result.err


def test_prepare_test_size_larger_than_the_data_names_the_option(
    run: Runner, tmp_path: Path
) -> None:
    data = write_dataset(tmp_path / "data.jsonl", 20, seed=1)
    result = run("prepare", str(data), "--out", str(tmp_path / "p"), "--test-size", "5000")
    assert result.code == 2 and "UsageError: --test-size 5000" in result.err
    assert "test_size" not in result.err


@pytest.mark.parametrize(
    "argv",
    [["prepare", "data.jsonl", "--out", "{file}"], ["evaluate", "p.jsonl", "--gold", "g.jsonl",
     "--plots", "{file}"]],
)  # fmt: skip
def test_a_file_where_a_folder_is_wanted_names_the_option_and_path(
    run: Runner, tmp_path: Path, argv: list[str]
) -> None:
    file = tmp_path / "afile"
    file.write_text("x", encoding="utf-8")
    result = run(*[a.format(file=file) for a in argv])
    option = argv[-2]
    assert result.code == 2 and f"UsageError: {option}" in result.err
    assert str(file) in result.err and "is a file, not a folder" in result.err


def test_mask_vault_equal_to_out_names_the_options(run: Runner, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"source_text": "hi"}\n', encoding="utf-8")
    out = str(tmp_path / "out" / "n.jsonl")
    result = run("mask", str(src), out, "--model", "m", "--operator", "numbered", "--vault", out)
    assert result.code == 2 and "UsageError: --vault" in result.err and "OUT" in result.err
    assert "vault_path" not in result.err


class _ClosedPipe(io.StringIO):
    """A stdout whose reader has gone (``pii-gemini ... | head -1``)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_stdout_ends_quietly_with_exit_141(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PII_GEMINI_FAKE_STATE", str(tmp_path / "fake.pkl"))
    with capsys.disabled():
        monkeypatch.setattr(sys, "stdout", _ClosedPipe())
        err = io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        code = cli.main(["--backend", "fake", "models", "list"])
    assert code == 141 and err.getvalue() == ""
