"""Test controls of the fake service: injected error answers and blocked texts.

``Faults`` keeps queues of errors to raise on the next calls of a method, an optional
seeded-random error rate, and predicates that block prompts or answers. It holds no lock:
``FakeService`` calls it under its own.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from ._service_errors import fault_error

__all__ = ["Faults"]


@dataclass
class _Fault:
    code: int
    times: int
    retry_delay: float | None
    message: str | None


class Faults:
    """Injected faults (per method or ``"*"``), a fault rate, and prompt/answer blocks."""

    def __init__(self) -> None:
        self._queues: dict[str, list[_Fault]] = {}
        self._rate: tuple[float, tuple[int, ...], frozenset[str], random.Random] | None = None
        self._blocks: list[tuple[Callable[[str], bool], str, str]] = []

    def inject(
        self, method: str, code: int, *, times: int, retry_delay: float | None, message: str | None
    ) -> None:
        """Make the next ``times`` calls of ``method`` (or ``"*"``) fail with ``code``."""
        self._queues.setdefault(method, []).append(_Fault(code, times, retry_delay, message))

    def set_rate(
        self, rate: float, *, codes: Sequence[int], methods: Sequence[str], seed: int
    ) -> None:
        """Fail a seeded-random share ``rate`` of calls to ``methods`` (0 switches it off)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1], got {rate}")
        if not codes:
            raise ValueError("codes must not be empty")
        self._rate = (rate, tuple(codes), frozenset(methods), random.Random(seed)) if rate else None

    def block(
        self,
        predicate: Callable[[str], bool],
        *,
        where: Literal["prompt", "candidate"],
        reason: str,
    ) -> None:
        """Block prompts (or answers) for which ``predicate(text)`` is true."""
        if where not in ("prompt", "candidate"):
            raise ValueError(f"where must be 'prompt' or 'candidate', got {where!r}")
        self._blocks.append((predicate, where, reason))

    def check(self, method: str) -> None:
        """Raise the ``ServiceError`` due for this call of ``method``, if any."""
        for key in (method, "*"):
            queue = self._queues.get(key)
            if queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
                raise fault_error(fault.code, fault.message, fault.retry_delay)
        if self._rate is not None:
            rate, codes, methods, rng = self._rate
            if method in methods and rng.random() < rate:
                raise fault_error(rng.choice(codes), None, None)

    def blocked(self, text: str, where: Literal["prompt", "candidate"]) -> str | None:
        """The reason of the first block of kind ``where`` that matches ``text``, or None."""
        for predicate, kind, reason in self._blocks:
            if kind == where and predicate(text):
                return reason
        return None
