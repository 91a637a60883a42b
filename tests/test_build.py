"""Tests for pii_gemini._build: which build runs, and that the mypyc hook compiles those modules."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pii_gemini import _build

ROOT = Path(__file__).resolve().parents[1]


def test_build_description_matches_the_compiled_modules() -> None:
    compiled = _build.compiled_modules()
    assert set(compiled) <= set(_build.COMPILABLE)
    text = _build.build_description()
    assert text == "pure Python" if not compiled else text.startswith("compiled with mypyc (")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="tomllib is Python 3.11+")
def test_the_mypyc_hook_compiles_exactly_the_listed_modules() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    hook = config["tool"]["hatch"]["build"]["targets"]["wheel"]["hooks"]["mypyc"]
    assert hook["enable-by-default"] is False  # editable and sdist installs stay pure Python
    included = {path.strip("/").removesuffix(".py").replace("/", ".") for path in hook["include"]}
    assert included == set(_build.COMPILABLE)


@pytest.mark.skipif(
    not os.environ.get("PII_GEMINI_EXPECT_COMPILED"),
    reason="set PII_GEMINI_EXPECT_COMPILED=1 when testing the mypyc build (CI does)",
)
def test_the_compiled_build_is_the_one_under_test() -> None:
    """CI runs the suite a second time against the mypyc wheel: make sure it really does."""
    assert _build.compiled_modules() == _build.COMPILABLE


def test_no_compiled_module_shadows_the_checkout_sources() -> None:
    """A mypyc build without HATCH_BUILD_CLEAN_HOOKS_AFTER=1 leaves .so files next to the .py
    files, and Python imports those first: the tests would then run stale compiled code."""
    package = Path(_build.__file__).resolve().parent
    if package.parent != ROOT:
        pytest.skip("pii_gemini is imported from an installed wheel, not from this checkout")
    assert _build.compiled_modules() == (), "delete pii_gemini/*.so (a stale mypyc build)"
