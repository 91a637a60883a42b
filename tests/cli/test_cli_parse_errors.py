"""Argument errors print the one documented error line: ``pii-gemini: error: UsageError: ...``.

argparse's own form (a usage block, then ``pii-gemini mask: error: argument --x: ...``) was
printed before: two formats for one kind of error, and a long block to read through.
"""

from __future__ import annotations

import re

import pytest
from _cli_support import Runner

ERROR_LINE = re.compile(r"^pii-gemini: error: UsageError: (?P<message>.+)$")


def _one_error_line(err: str) -> str:
    """The message of the single line ``err`` must be; fails on anything else."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one error line, got: {err!r}"
    match = ERROR_LINE.match(lines[0])
    assert match, f"not the documented error form: {lines[0]!r}"
    return match["message"]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["mask", "in.jsonl", "out.jsonl", "--model", "m", "--concurrency", "0"], "--concurrency"),
        (["mask", "in.jsonl", "out.jsonl", "--model", "m", "--operator", "bad"], "--operator"),
        (["mask", "in.jsonl", "out.jsonl"], "--model"),
        (["--backend", "nope", "demo"], "--backend"),
        (["prepare", "x.jsonl", "--test-size", "abc"], "--test-size"),
        (["prepare", "x.jsonl", "--test-size", "0"], "--test-size"),
        (["prepare", "x.jsonl", "--test-size", "1.5"], "--test-size"),
        (["prepare", "x.jsonl", "--limit", "0"], "--limit"),
        (["--fake-speed", "-1", "models", "list"], "--fake-speed"),
        (["prepare", "x.jsonl", "--bogus"], "--bogus"),
        (["status", "JOB", "--poll-interval", "-1"], "--poll-interval"),
        (["status", "JOB", "--plot", "x.png"], "--plot"),
        (["tune", "train.jsonl", "--plot", "x.png"], "--plot"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_a_usage_error_is_one_documented_line_naming_the_option_exit_2(
    run: Runner, argv: list[str], named: str
) -> None:
    result = run(*argv)
    assert result.code == 2
    assert "usage:" not in result.err
    assert named in _one_error_line(result.err)


def test_a_number_out_of_range_names_the_option_and_the_allowed_range(run: Runner) -> None:
    result = run("mask", "in.jsonl", "out.jsonl", "--model", "m", "--concurrency", "0")
    message = _one_error_line(result.err)
    assert message.startswith("--concurrency: ")
    assert "an integer >= 1" in message and "got 0" in message
    assert "pii-gemini mask --help" in message  # where the options are listed


def test_help_and_version_still_exit_0(run: Runner) -> None:
    assert run("--version").code == 0
    assert run("mask", "--help").code == 0
