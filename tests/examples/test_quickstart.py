"""The README's first command: the quickstart runs offline and the tuned model wins."""

from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(name: str) -> ModuleType:
    """``examples/NAME.py`` as the module ``NAME_example`` (not left in sys.modules)."""
    spec = importlib.util.spec_from_file_location(f"{name}_example", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load() -> ModuleType:
    return load_example("quickstart")


def test_quickstart_runs_offline_and_tuned_beats_untuned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PII_GEMINI_BACKEND", raising=False)
    reports = _load().main(["--rows", "400", "--test-size", "40", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "train 360 rows, test 40 rows" in out
    assert "| metric | tuned | untuned |" in out
    tuned, untuned = reports["tuned"], reports["untuned"]
    assert tuned.n_rows == untuned.n_rows == 40
    assert tuned["strict_f1"] > untuned["strict_f1"] + 0.3
    assert tuned["leak_rate"] < untuned["leak_rate"] - 0.3
    for name in ("loss.png", "recall_by_label.png", "report.md"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_quickstart_reports_a_bad_data_path(tmp_path: Path) -> None:
    from pii_gemini import DatasetError

    with pytest.raises(DatasetError):
        _load().main(["--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path)])
    assert "quickstart_example" not in sys.modules


def test_quickstart_on_vertex_uses_the_backend_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Vertex: its own default base model, no batch size or learning rate it would ignore."""
    from pii_gemini.testing import fake_backend

    with fake_backend(), warnings.catch_warnings(record=True) as caught:  # vertex, locally
        warnings.simplefilter("always")
        reports = _load().main(["--backend", "vertex", "--rows", "60", "--test-size", "6",
                                "--out", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert "from gemini-2.5-flash-lite:" in out and "no loss plot" in out
    assert reports["untuned"].n_rows == 6
    assert not [w for w in caught if "batch_size" in str(w.message)]
