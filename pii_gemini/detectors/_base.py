"""The detector base classes and the registry of detectors by name.

A :class:`Detector` finds one kind of PII; a :class:`RegexDetector` is a compiled pattern
plus a ``validate`` check per match. :func:`register_detector` adds a class to
:data:`DETECTORS`, where :class:`SafetyNet` looks names up.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from typing import ClassVar, TypeVar

from .._exceptions import ConfigError
from .._types import Span

__all__ = ["DETECTORS", "Detector", "RegexDetector", "get_detector", "register_detector"]


class Detector(ABC):
    """Finds one kind of PII in a text.

    Subclasses set ``name`` (registry key) and ``label`` (the ai4privacy label they emit) and
    implement :meth:`find`. Spans carry offsets into the text given and its value.
    """

    name: ClassVar[str]
    label: ClassVar[str]

    @abstractmethod
    def find(self, text: str) -> Iterable[Span]:
        """Yield validated spans, in any order; overlaps are resolved by the caller."""

    def candidates(self, text: str) -> Iterable[Span]:
        """Spans the pattern alone matches, before validation (for comparisons/benchmarks)."""
        return self.find(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class RegexDetector(Detector):
    """A detector made of a compiled ``pattern`` and a ``validate`` check per match."""

    pattern: ClassVar[re.Pattern[str]]

    def bounds(self, match: re.Match[str]) -> tuple[int, int]:
        """The span of a match; override to trim (group 0 by default)."""
        return match.span()

    def validate(self, value: str, text: str, start: int) -> bool:
        """True when the candidate ``value`` found at ``start`` in ``text`` is real PII."""
        return True

    def candidates(self, text: str) -> Iterator[Span]:
        pos = 0
        while (m := self.pattern.search(text, pos)) is not None:
            start, end = self.bounds(m)
            if end > start:
                yield Span(start, end, self.label, text[start:end])
            # resume after the kept part: a trimmed match may hide the next candidate
            pos = end if end > m.start() else m.start() + 1

    def find(self, text: str) -> Iterator[Span]:
        for span in self.candidates(text):
            if self.validate(span.value, text, span.start):
                yield span


DETECTORS: dict[str, type[Detector]] = {}
"""Registry: detector name -> class. Add your own with :func:`register_detector`."""

_D = TypeVar("_D", bound=type[Detector])


def register_detector(cls: _D) -> _D:
    """Register a Detector subclass under its ``name`` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Detector)):
        raise ConfigError("register_detector expects a Detector subclass")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ConfigError(f"detector class {cls.__name__} needs a non-empty 'name'")
    if not isinstance(getattr(cls, "label", None), str) or not cls.label:
        raise ConfigError(f"detector class {cls.__name__} needs a non-empty 'label'")
    DETECTORS[name] = cls
    return cls


def get_detector(name: str) -> Detector:
    """A default-configured instance of the registered detector ``name``."""
    try:
        return DETECTORS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown detector {name!r}; known: {', '.join(sorted(DETECTORS))}"
        ) from None
