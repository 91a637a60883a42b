"""Without the ``local`` extra: the core never imports it, and asking for it says what to install.

This runs in every install (no torch needed): one child process blocks torch, transformers
and peft the way a missing package would look, then imports the package, asks
``make_backend`` for the local backend and runs the CLI with ``--backend local``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from pii_gemini.backends import LocalBackend

CHILD = textwrap.dedent(
    """
    import contextlib, io, sys
    for name in ("torch", "transformers", "peft"):
        sys.modules[name] = None  # importing a None entry raises ImportError

    import pii_gemini, pii_gemini.backends, pii_gemini.backends.local
    from pii_gemini import BackendUnavailableError, Masker, Tuner, make_backend, metrics
    from pii_gemini.backends import LocalBackend
    heavy = [m for m in ("torch", "transformers", "peft", "huggingface_hub")
             if sys.modules.get(m) is not None]
    print("heavy:", heavy)
    try:
        make_backend("local")
    except BackendUnavailableError as exc:
        print("error:", exc)
    from pii_gemini.cli import main
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["models", "list", "--backend", "local"])
    print("cli:", code, repr(err.getvalue()))
    """
)


def test_without_the_extra_nothing_imports_it_and_errors_say_what_to_install() -> None:
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    heavy, error, cli = out.stdout.splitlines()
    assert heavy == "heavy: []"
    hint = "pip install 'pii-gemini[local]'"
    assert error == (
        f"error: the local backend needs torch, transformers, peft (not installed here): {hint}"
    )
    code, message = cli.removeprefix("cli: ").split(" ", 1)
    assert code != "0" and hint in message and message.count("\\n") == 1  # one line


def test_local_backend_is_listed_lazily() -> None:
    assert LocalBackend.name == "local"
