"""A small scripted Backend for Masker tests: instrumented, with latency and faults.

It masks a fixed set of names plus e-mails and phone numbers found in the prompt's input
part, so alignment yields real spans. It records every prompt, the call times and the
largest number of calls in flight. Used by tests and by the kill-test subprocess.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from pii_gemini._exceptions import BackendError, NotFoundError
from pii_gemini._types import Generation, GenerationConfig, TunedModelInfo, TuningJobInfo
from pii_gemini.backends.base import Backend

NAMES = ("Alice", "Bruno", "Chen", "Dana", "Emeka", "Farah")
_INPUT = re.compile(r"Input:\n(.*)\n\nOutput:\n?$", re.S)
_RULES = (
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"), "[EMAIL]"),
    (re.compile(r"\b\d{3}-\d{4}\b"), "[PHONENUMBER]"),
    (re.compile(r"\b(?:" + "|".join(NAMES) + r")\b"), "[FIRSTNAME]"),
)


def input_of(prompt: str) -> str:
    """The text a seed-template prompt asks to mask."""
    match = _INPUT.search(prompt)
    assert match is not None, "prompt does not follow the seed template"
    return match.group(1)


def mask_known(text: str) -> str:
    """What a perfect model would answer for ``text``."""
    for rx, placeholder in _RULES:
        text = rx.sub(placeholder, text)
    return text


class ScriptedBackend(Backend):
    """Deterministic masking with optional latency, faults and blocking."""

    name = "scripted"

    def __init__(
        self,
        *,
        latency: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        fault: Callable[[str, int], BackendError | None] | None = None,
        block: Callable[[str], bool] | None = None,
        answer: Callable[[str], str | None] | None = None,
    ) -> None:
        self.latency = latency
        self._sleep = sleep
        self._clock = clock
        self._fault = fault
        self._block = block
        self._answer = answer or mask_known
        self.lock = threading.Lock()
        self.calls = 0
        self.prompts: list[str] = []
        self.call_times: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def generate(
        self, model: str, prompt: str, config: GenerationConfig | None = None
    ) -> Generation:
        with self.lock:
            self.calls += 1
            attempt = self.calls
            self.prompts.append(prompt)
            self.call_times.append(self._clock())
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                self._sleep(self.latency)
            text = input_of(prompt)
            if self._fault is not None:
                exc = self._fault(text, attempt)
                if exc is not None:
                    raise exc
            tokens = len(prompt) // 4
            if self._block is not None and self._block(text):
                return Generation(None, None, "SAFETY", tokens, 0)
            out = self._answer(text)
            return Generation(out, "STOP", None, tokens, len(out or "") // 4)
        finally:
            with self.lock:
                self.in_flight -= 1

    def inputs(self) -> list[str]:
        """The input texts sent so far, in call order."""
        with self.lock:
            return [input_of(p) for p in self.prompts]

    # Tuning is not what these tests are about.
    def create_tuning_job(self, spec: object) -> TuningJobInfo:  # type: ignore[override]
        raise NotImplementedError

    def get_tuning_job(self, name: str) -> TuningJobInfo:
        raise NotImplementedError

    def cancel_tuning_job(self, name: str) -> None:
        raise NotImplementedError

    def get_model(self, name: str) -> TunedModelInfo:
        raise NotFoundError(f"{name} is not a tuned model here", code=404)  # a base model

    def list_models(self) -> list[TunedModelInfo]:
        raise NotImplementedError

    def delete_model(self, name: str) -> None:
        raise NotImplementedError
