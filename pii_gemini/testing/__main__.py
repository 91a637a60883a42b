"""``python -m pii_gemini.testing``: serve the emulator until Ctrl-C (or SIGTERM).

Prints the URL and the ``export`` lines that point ``pii-gemini --backend gemini|vertex``
(or any program using ``make_backend``) at it, then serves until interrupted::

    python -m pii_gemini.testing --port 8765
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Sequence

from ..backends._catalogue import CURRENT_ERA, ERAS
from . import DEFAULT_BEARER_TOKEN, Emulator


def main(argv: Sequence[str] | None = None) -> int:
    """Serve an emulator until Ctrl-C; 0 once stopped."""
    parser = argparse.ArgumentParser(
        prog="python -m pii_gemini.testing",
        description="Serve the Gemini API / Vertex AI emulator until Ctrl-C (state in memory).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--era", default=CURRENT_ERA, choices=ERAS,
                        help=f"the Google it models (default {CURRENT_ERA})")  # fmt: skip
    args = parser.parse_args(argv)
    # the token it prints is the one it accepts: a wrong one gets 401, as from Google
    emulator = Emulator(
        host=args.host, port=args.port, era=args.era, bearer_token=DEFAULT_BEARER_TOKEN
    )
    with emulator as emu:
        print(f"pii_gemini emulator (era {emu.era}) serving at {emu.url}", flush=True)
        print("point pii-gemini --backend gemini|vertex at it with:", flush=True)
        for key, value in emu.environment().items():
            print(f"export {key}={value}", flush=True)
        print("unset GEMINI_API_KEY", flush=True)
        print("Ctrl-C stops it (models and jobs live in memory only)", flush=True)
        # Ctrl-C or `kill` stop it, also when started in the background (which ignores
        # SIGINT in a non-interactive shell)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
