"""``python -m pii_gemini.testing``: the emulator as a standalone server the CLI can use."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

import pytest

from pii_gemini import cli


def _exports(stdout: IO[str]) -> dict[str, str]:
    """The variables the server prints (a header, the exports, then ``unset``), then serves."""
    lines = [stdout.readline()]
    while lines[-1] not in ("unset GEMINI_API_KEY\n", "") and len(lines) < 20:
        lines.append(stdout.readline())
    assert "serving at http://127.0.0.1:" in lines[0], lines
    assert lines[-1] == "unset GEMINI_API_KEY\n", lines
    pairs = [ln.removeprefix("export ").strip() for ln in lines if ln.startswith("export ")]
    return dict(pair.split("=", 1) for pair in pairs)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_the_cli_masks_through_a_standalone_emulator(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    stop: signal.Signals,
) -> None:
    command = [sys.executable, "-m", "pii_gemini.testing"]
    # run from tmp_path, not the checkout: the installed package serves
    with subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            exports = _exports(server.stdout)
            assert "PII_GEMINI_ENDPOINT" in exports
            assert exports["PII_GEMINI_ERA"] == "2026"
            for key, value in exports.items():
                monkeypatch.setenv(key, value)
            monkeypatch.delenv("GEMINI_API_KEY", raising=False)
            src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
            src.write_text(json.dumps({"source_text": "Call Ann on Monday."}) + "\n", "utf-8")
            argv = ["--backend", "gemini", "-q", "mask", str(src), str(out),
                    "--model", "models/gemini-2.5-flash-lite"]  # fmt: skip
            assert cli.main(argv) == 0, capsys.readouterr().err
            assert json.loads(out.read_text(encoding="utf-8"))["status"] == "ok"
            # only the printed token passes (the trial's wrong token listed models, exit 0)
            monkeypatch.setenv("PII_GEMINI_ACCESS_TOKEN", "wrong-token")
            assert cli.main(["--backend", "vertex", "-q", "models", "list"]) != 0
            assert "wrong-token" not in capsys.readouterr().err
        finally:
            server.send_signal(stop)
            code = server.wait(timeout=20)
    assert code == 0  # Ctrl-C (or kill) stops it cleanly
