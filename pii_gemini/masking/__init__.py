"""Masker: mask one text, many texts, a DataFrame or a whole file with a (tuned) model.

Every backend call goes through the one retry layer (``Retrier``), at most ``concurrency``
requests are in flight, and optional requests/minute and tokens/minute limits are honoured
(``_ratelimit``). Results keep input order. Each row ends with a ``MaskStatus``: a blocked,
empty or truncated answer, or an error left after retries, is recorded on that row and the
run goes on. Identical texts are paid once (content-hash cache), texts longer than
``max_input_chars`` are masked in overlapping pieces (``_chunking``), and ``mask_file``
streams its input and appends results durably so a killed run resumes where it stopped.

After the model, a safety net of deterministic detectors (``detectors.SafetyNet``, on by
default) masks what the model missed, and an operator (``operators.anonymize``: ``[LABEL]``,
numbered placeholders, redaction, character masks, keyed hashes, Faker surrogates) decides
what replaces each value. Reversible operators record their tokens in a ``Vault`` so that
``Masker.unmask`` can restore the originals into any text, e.g. another LLM's answer.

Inside, one module a job (docs/architecture.md draws the data path):

* ``_masker`` - ``Masker``, the facade that wires the parts below;
* ``_settings`` - argument validation and the cache-key prefix;
* ``_pipeline`` - the stages one text passes (split, prompt, generate, clean, read, merge);
* ``_finish`` - after the model: the safety net, the operators, leak masking;
* ``_executor`` - threads, in-flight cap, rate limits, retries, the result cache;
* ``_breaker`` - the circuit breaker that stops a run in an outage;
* ``_filejob`` / ``_records`` - ``mask_file``: streaming, checkpoint, resume, per-row statuses;
* ``_outfile`` - the output's files: the guard, the keyed hash and its secret, the redo journal;
* ``_summary`` - ``MaskSummary``, per-run counters, the progress bar.

Example::

    masker = Masker(FakeBackend(), "tunedModels/pii-masker", concurrency=16,
                    requests_per_minute=1000)
    result = masker.mask("Call Ana on 555-0100")
    summary = masker.mask_file("in.parquet", "out.jsonl", id_column="id")

    masker = Masker(backend, model, operator="numbered")
    masked = masker.mask("Mail ana@example.org").masked_text   # "Mail [EMAIL_1]"
    masker.unmask(llm_answer_to(masked))                        # originals restored
"""

from __future__ import annotations

from ._breaker import BreakerPolicy
from ._masker import Masker
from ._summary import MaskSummary

__all__ = ["BreakerPolicy", "MaskSummary", "Masker"]
