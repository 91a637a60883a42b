"""The package imports, and the fake workflow runs, with the Google SDKs unavailable."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_package_imports_with_google_sdks_blocked() -> None:
    code = textwrap.dedent(
        """
        import sys
        for name in ("google.generativeai", "google.genai", "google.ai.generativelanguage"):
            sys.modules[name] = None  # import of a None entry raises ImportError
        import pii_gemini
        import pii_gemini.backends
        import pii_gemini.dataset, pii_gemini.tuning, pii_gemini.masking, pii_gemini.metrics
        loaded = [m for m in sys.modules if m.startswith(("google.generativeai", "google.genai"))
                  and sys.modules[m] is not None]
        assert not loaded, loaded
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
