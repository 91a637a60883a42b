"""Without the ``local`` extra: the core never imports it, and asking for it says what to install.

These run in every install (no torch needed): a child process blocks torch, transformers
and peft the way a missing package would look.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from pii_gemini.backends import LocalBackend

BLOCK = """
import sys
for name in ("torch", "transformers", "peft"):
    sys.modules[name] = None  # importing a None entry raises ImportError
"""


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_core_and_the_local_module_import_without_the_stack() -> None:
    out = _run(
        """
        import pii_gemini, pii_gemini.backends, pii_gemini.backends.local
        from pii_gemini import make_backend, Tuner, Masker, metrics
        from pii_gemini.backends import LocalBackend
        heavy = [m for m in ("torch", "transformers", "peft", "huggingface_hub")
                 if sys.modules.get(m) is not None]
        assert not heavy, heavy
        print("ok")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_make_backend_local_without_the_extra_says_what_to_install() -> None:
    out = _run(
        """
        from pii_gemini import BackendUnavailableError, make_backend
        try:
            make_backend("local")
        except BackendUnavailableError as exc:
            print(exc)
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "the local backend needs torch, transformers, peft (not installed here): "
        "pip install 'pii-gemini[local]'"
    )


def test_the_cli_without_the_extra_prints_one_line_and_fails() -> None:
    out = _run(
        """
        from pii_gemini.cli import main
        sys.exit(main(["models", "list", "--backend", "local"]))
        """
    )
    assert out.returncode != 0
    assert out.stderr.strip().count("\n") == 0
    assert "pip install 'pii-gemini[local]'" in out.stderr


def test_local_backend_is_listed_lazily() -> None:
    assert LocalBackend.name == "local"
