"""docs/backends.md "Try it offline first": the recipe runs as written, with no download,
and a relative ``models_dir`` works (the training worker starts inside the model folder)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pii_gemini.backends import _local_worker
from pii_gemini.backends._local_store import ModelFolder

DOCS = Path(__file__).resolve().parents[3] / "docs" / "backends.md"


def test_the_worker_gets_an_absolute_folder_when_models_dir_is_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    seen: dict[str, Any] = {}

    def popen(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        seen.update(args=args, cwd=kwargs["cwd"])
        raise OSError(2, "not started in this test")

    monkeypatch.setattr(_local_worker.subprocess, "Popen", popen)
    with pytest.raises(OSError):
        _local_worker._spawn(ModelFolder(Path("local-models"), "tiny-try"), 0, 0)
    folder = tmp_path / "local-models" / "tiny-try"
    # the worker runs in the folder, so a relative path would point below itself
    assert Path(seen["cwd"]) == folder and Path(seen["args"][-2]) == folder


def test_try_it_offline_recipe_runs_as_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for module in ("torch", "transformers", "peft"):
        pytest.importorskip(module, reason="the local extra is not installed")
    section = DOCS.read_text(encoding="utf-8").split("### Try it offline first", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the offline recipe has no python block"
    monkeypatch.chdir(tmp_path)  # the recipe writes tiny-gemma/ and local-models/ here
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    scope: dict[str, Any] = {}
    exec(compile(match.group(1), str(DOCS), "exec"), scope)
    assert scope["job"].state.name == "SUCCEEDED"
    assert len(scope["masked"]) == 2
    assert (tmp_path / "local-models" / "tiny-try" / "card.json").is_file()
    assert "mean_loss" in capsys.readouterr().out
