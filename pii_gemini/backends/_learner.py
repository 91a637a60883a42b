"""The fake service's "model": a small learner that really learns to mask PII from examples.

A tuned fake model must behave like a tuned model, or metrics computed on the fake would
mean nothing. ``Learner`` therefore learns, step by step and deterministically:

* the prompt template (common prefix/suffix of the training prompts, cut at a line
  boundary), to take the input back out of any prompt at generate time;
* the answer format: masked text with ``[LABEL]`` or ``[LABEL_N]`` placeholders, a JSON
  list of ``{"label", "value"}`` entities (compact or spaced, as taught), or entity lines
  (``LABEL: value`` a line, ``NONE`` for no PII);
* knowledge: a lexicon value -> label; value *patterns* (``Apt. 156`` -> ```Apt`. 999``,
  or families such as e-mail/URL/IP/IBAN/MAC/crypto address/user agent); the shapes of
  each label's values (``Aa+ Aa+``); and context cues - the word before a value
  (``Dear`` -> GIVENNAME) or the label of the value before it (GIVENNAME -> SURNAME).
  Each comes with negative evidence (the same things seen as plain text) for precision.

Each training step absorbs a share of the batch's facts that grows with the learning rate
(a seeded RNG decides which), so more epochs or a larger rate give a better model. The
loss of a step is measured, not invented: the current model's character-level masking
error on the batch before the update, mapped to a cross-entropy-like number, plus a small
term for how little evidence backs the right answers.

The span texts used in training never leave the learner: no logging, no messages. Beside
this module: ``_learner_formats`` (prompt template, answer formats), ``_learner_patterns``
(value families, shapes, pattern keys) and ``_learner_evidence`` (what an example teaches,
context cues, choosing spans, the masking error).
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._learner_evidence import (
    _STRIP_CHARS,
    _TOKEN_RE,
    Fact,
    Triple,
    _cue_before,
    _facts,
    _labels_at,
    _masking_error,
    _resolve,
    _zero_shot_spans,
)
from ._learner_formats import (
    _INDEXED_RE,
    _NO_ENTITIES,
    _line_pairs,
    _looks_like_entities,
    _looks_like_lines,
    _strip_index,
    extract_input,
    learn_template,
    render_masked,
)
from ._learner_patterns import _pattern_regex, coarse_shape, pattern_key

__all__ = ["Learner", "ParsedExample", "approx_tokens"]

_LR_SCALE = 300.0  # absorption share per step = 1 - exp(-lr * scale): 0.26 at lr=0.001
_MAX_ERROR_LOSS = 0.95  # error part of the loss: -ln(1 - 0.95 * error), 0 .. ~3.0
_DOUBT_WEIGHT = 0.2  # confidence part: 0.2 * mean 1/(1 + evidence) over gold spans
_UNTUNED_CHATTER = "Here is the anonymized text:\n\n"
_BUCKET_KEY = 2  # lexicon values are bucketed by this many leading characters
_MAX_CUE_TOKENS = 4  # longest multi-word value a cue may introduce
_CUE_PASSES = 3  # cue chains followed per prediction (GIVENNAME -> SURNAME -> ...)


def approx_tokens(text: str) -> int:
    """Token count the way the fake bills it: about four characters per token."""
    return (len(text) + 3) // 4


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _best(counter: Counter[str]) -> str:
    # Highest strength, ties broken by name so the answer is deterministic.
    return min(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0]


@dataclass(frozen=True)
class ParsedExample:
    """A training example taken apart: the input text and its gold PII spans."""

    text: str
    spans: tuple[Triple, ...]
    usable: bool  # False when the output could not be aligned to the input


class Learner:
    """Deterministic PII-masking "model" that learns from (prompt, answer) pairs."""

    def __init__(self, *, tuned: bool = True) -> None:
        self.tuned = tuned
        self.prefix: str | None = None
        self.suffix: str | None = None
        self.output_format = "masked"  # or "entities" (JSON) or "lines" (LABEL: value)
        self.indexed = False
        self.json_compact = False  # entities answers as {"label":"X"} rather than {"label": "X"}
        self.lexicon: dict[str, Counter[str]] = {}
        self.plain: Counter[str] = Counter()
        self.patterns: dict[str, Counter[str]] = {}
        self.pattern_neg: Counter[str] = Counter()
        self.cues: dict[str, Counter[str]] = {}
        self.cue_neg: Counter[str] = Counter()
        self.shapes: dict[str, Counter[str]] = {}  # label -> coarse shapes of its values
        self._buckets: dict[str, list[str]] = {}  # lexicon values by first characters
        self._regex_cache: dict[str, re.Pattern[str]] = {}

    # -- set-up ---------------------------------------------------------------------------

    def clone(self) -> Learner:
        """An independent copy: tuning from a tuned model starts from its knowledge."""
        twin = copy.deepcopy(self)
        twin.tuned = True
        return twin

    def begin(self, examples: Sequence[tuple[str, str]]) -> list[ParsedExample]:
        """Learn the template and answer format, and parse the examples for training."""
        inputs = [text_input for text_input, _ in examples]
        self.prefix, self.suffix = learn_template(inputs)
        outputs = [output for _, output in examples]
        entity_votes = sum(_looks_like_entities(o) for o in outputs)
        line_votes = sum(_looks_like_lines(o) for o in outputs)
        self.output_format = "masked"
        if entity_votes * 2 > len(outputs):
            self.output_format = "entities"
        elif line_votes * 2 > len(outputs):
            self.output_format = "lines"
        if self.output_format == "entities":
            spaced = sum('": ' in o for o in outputs if _looks_like_entities(o))
            self.json_compact = spaced * 2 < entity_votes
        else:
            indexed_votes = sum(bool(_INDEXED_RE.search(o)) for o in outputs)
            self.indexed = indexed_votes * 2 > len(outputs)
        return [self.parse(text_input, output) for text_input, output in examples]

    def extract(self, prompt: str) -> str:
        """Take the input text back out of a prompt."""
        return extract_input(prompt, self.prefix, self.suffix)

    def parse(self, text_input: str, output: str) -> ParsedExample:
        """Recover the gold spans of one example from its answer."""
        text = self.extract(text_input)
        if self.output_format == "entities":
            return _parse_entities(text, output)
        if self.output_format == "lines":
            return _ground_pairs(text, _line_pairs(output))
        from .._align import align  # written by a sibling module; imported when needed

        alignment = align(text, output)
        if not alignment.faithful:
            return ParsedExample(text, (), usable=False)
        spans = tuple((span.start, span.end, _strip_index(span.label)) for span in alignment.spans)
        return ParsedExample(text, spans, usable=True)

    # -- training -------------------------------------------------------------------------

    def train_step(
        self, batch: Sequence[ParsedExample], learning_rate: float, rng: random.Random
    ) -> float:
        """One step: measure the loss on ``batch``, then absorb a share of its facts."""
        loss = self.loss(batch)
        share = 1.0 - math.exp(-learning_rate * _LR_SCALE)
        for example in batch:
            if not example.usable:
                continue
            for fact in _facts(example.text, example.spans):
                if rng.random() < share:
                    self._absorb(fact)
        return loss

    def loss(self, batch: Sequence[ParsedExample]) -> float:
        """Mean loss of the current model on ``batch``.

        Mostly the character-level masking error; a small confidence term (how little
        evidence backs each gold span) keeps falling once the answers are right, as a
        cross-entropy does.
        """
        usable = [ex for ex in batch if ex.usable]
        if not usable:
            return 0.0
        errors = [_masking_error(self.predict(ex.text), ex.spans) for ex in usable]
        error = min(sum(errors) / len(errors), 1.0)
        doubts = [
            1.0 / (1.0 + self._evidence(ex.text[start:end], label))
            for ex in usable
            for start, end, label in ex.spans
        ]
        doubt = sum(doubts) / len(doubts) if doubts else 0.0
        return max(0.0, -math.log(1.0 - _MAX_ERROR_LOSS * error) + _DOUBT_WEIGHT * doubt)

    def _evidence(self, value: str, label: str) -> float:
        """How much absorbed knowledge says ``value`` is a ``label``."""
        evidence = float(self.lexicon.get(value, Counter())[label])
        key = pattern_key(value)
        if key is not None:
            evidence += self.patterns.get(key, Counter())[label]
        return evidence

    def _absorb(self, fact: Fact) -> None:
        kind, key, label = fact
        if kind == "lex":
            if key not in self.lexicon:
                self.lexicon[key] = Counter()
                bucket = self._buckets.setdefault(key[:_BUCKET_KEY], [])
                bucket.append(key)
                bucket.sort(key=lambda v: (-len(v), v))
            self.lexicon[key][label] += 1
            self.shapes.setdefault(label, Counter())[coarse_shape(key)] += 1
        elif kind == "plain":
            self.plain[key] += 1
        elif kind == "pat":
            self.patterns.setdefault(key, Counter())[label] += 1
        elif kind == "patneg":
            self.pattern_neg[key] += 1
        elif kind == "cue":
            self.cues.setdefault(key, Counter())[label] += 1
        elif kind == "cueneg":
            self.cue_neg[key] += 1

    # -- inference ------------------------------------------------------------------------

    def predict(self, text: str) -> list[Triple]:
        """PII spans the model sees in ``text``, sorted, non-overlapping."""
        if not self.tuned:
            return _zero_shot_spans(text)
        candidates: list[tuple[int, int, int, str]] = []  # priority, start, end, label
        for start, end in self._lexicon_matches(text):
            value = text[start:end]
            counts = self.lexicon[value]
            if sum(counts.values()) <= self.plain[value]:
                continue
            if len(counts) > 1:  # a value seen with several labels: let the context decide
                context = self.cues.get(_cue_before(text, start, {}), Counter())
                counts = Counter({lab: n + context[lab] for lab, n in counts.items()})
            candidates.append((0, start, end, _best(counts)))
        for key, labels in self.patterns.items():
            label = _best(labels)
            if labels[label] <= self.pattern_neg[key]:
                continue
            for match in self._regex(key).finditer(text):
                candidates.append((1, match.start(), match.end(), label))
        spans = _resolve(candidates)
        for _ in range(_CUE_PASSES):  # a cue may be a value found in the previous pass
            extra = list(self._cue_candidates(text, spans))
            if not extra:
                break
            spans = _resolve([(0, s, e, lab) for s, e, lab in spans] + extra)
        return spans

    def _cue_candidates(
        self, text: str, spans: Sequence[Triple]
    ) -> Iterable[tuple[int, int, int, str]]:
        """Uncovered tokens right after a learned cue (a word, or a value of some label).

        The value may run over a few tokens (``Glen Shoals``) when the label's learned
        shapes include such a multi-word shape; the longest fitting run wins.
        """
        if not self.cues:
            return
        labels_at = _labels_at(spans)
        tokens = [
            t
            for t in _TOKEN_RE.finditer(text)
            if not any(i in labels_at for i in range(t.start(), t.end()))
        ]
        for k, token in enumerate(tokens):
            cue = _cue_before(text, token.start(), labels_at)
            labels = self.cues.get(cue) if cue else None
            if not labels:
                continue
            label = _best(labels)
            shapes = self.shapes.get(label)
            if labels[label] <= self.cue_neg[cue] or not shapes:
                continue
            raw = token.group()
            start = token.start() + len(raw) - len(raw.lstrip(_STRIP_CHARS))
            for n in range(min(_MAX_CUE_TOKENS, len(tokens) - k), 0, -1):
                last = tokens[k + n - 1]
                if n > 1 and text[tokens[k].end() : last.start()].count(" ") > n - 1:
                    continue  # the run must be contiguous words
                end = last.end() - (len(last.group()) - len(last.group().rstrip(_STRIP_CHARS)))
                if end > start and shapes[coarse_shape(text[start:end])] > 0:
                    yield (2, start, end, label)
                    break

    def _lexicon_matches(self, text: str) -> Iterable[tuple[int, int]]:
        """Leftmost-longest lexicon hits on word boundaries (like ``(?<!\\w)v(?!\\w)``).

        A dict of values bucketed by their first two characters: no giant regex to
        recompile each time the lexicon grows.
        """
        buckets = self._buckets
        i, size = 0, len(text)
        while i < size:
            if i == 0 or not _is_word(text[i - 1]):
                for value in buckets.get(text[i : i + _BUCKET_KEY], ()):
                    end = i + len(value)
                    if text.startswith(value, i) and (end == size or not _is_word(text[end])):
                        yield i, end
                        i = end - 1
                        break
            i += 1

    def _regex(self, key: str) -> re.Pattern[str]:
        regex = self._regex_cache.get(key)
        if regex is None:
            regex = self._regex_cache[key] = _pattern_regex(key)
        return regex

    def generate(self, prompt: str) -> str:
        """Answer a prompt the way this model was taught to."""
        text = self.extract(prompt)
        spans = self.predict(text)
        if not self.tuned:
            return _UNTUNED_CHATTER + render_masked(text, spans, indexed=False)
        if self.output_format == "entities":
            entities = [{"label": label, "value": text[s:e]} for s, e, label in spans]
            separators = (",", ":") if self.json_compact else (", ", ": ")
            return json.dumps(entities, ensure_ascii=False, separators=separators)
        if self.output_format == "lines":
            lines = [f"{label}: {text[s:e]}" for s, e, label in spans]
            return "\n".join(lines) if lines else _NO_ENTITIES
        return render_masked(text, spans, indexed=self.indexed)


def _parse_entities(text: str, output: str) -> ParsedExample:
    try:
        data = json.loads(output)
    except ValueError:
        return ParsedExample(text, (), usable=False)
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        return ParsedExample(text, (), usable=False)
    return _ground_pairs(text, [(item.get("label"), item.get("value")) for item in data])


def _ground_pairs(text: str, pairs: list[tuple[object, object]] | None) -> ParsedExample:
    """Place each taught ``(label, value)`` in the text, left to right."""
    if pairs is None:
        return ParsedExample(text, (), usable=False)
    spans: list[Triple] = []
    cursor = 0
    for label, value in pairs:
        if not isinstance(value, str) or not isinstance(label, str) or not value or not label:
            return ParsedExample(text, (), usable=False)
        start = text.find(value, cursor)
        if start < 0:
            start = text.find(value)
        if start < 0:
            return ParsedExample(text, (), usable=False)
        spans.append((start, start + len(value), _strip_index(label)))
        cursor = start + len(value)
    return ParsedExample(text, tuple(_resolve([(0, s, e, lab) for s, e, lab in spans])), True)
