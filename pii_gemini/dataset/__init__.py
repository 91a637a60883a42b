"""Load ai4privacy PII-masking data in any of its schemas, validate it, split it and prompt it.

:func:`load_pii_dataset` reads a Hugging Face dataset, a local file or folder, a DataFrame or a
``datasets.Dataset`` and returns the normalised frame of ``docs/architecture.md``:
``id, source_text, target_text, privacy_mask, language`` whatever the source schema
(original 200k dict-repr masks, the current list-of-spans schema, or 300k/400k/500k with
``masked_text``/``uid``/language names). Every span is checked against the text
(``source_text[start:end] == value``); errors name the row and column, never the PII value.

:func:`train_test_split` reproduces the seed notebook's head/tail split or a seeded shuffle,
and :class:`PromptBuilder` turns rows into ``text_input``/``output`` tuning examples with
vectorised string operations.

Inside, one job a module, in the order data flows:

* ``_load``       - ``load_pii_dataset``: arguments, then the readers (Hub, files, frames);
* ``_schemas``    - the schemas' columns, schema detection, language codes;
* ``_arrow``      - Parquet/JSONL files as Arrow batches of the needed columns;
* ``_bulk``       - Arrow batches -> normalised Arrow tables (filter, limit, skip), and the
  DataFrame; ``_bulk_spans`` - the column-wise span checks;
* ``_spanarray``  - the ``privacy_mask`` column: spans built and checked in Arrow, handed
  out as an object column of lists of span dicts;
* ``_normalise``  - raw frame -> normalised frame: filter, limit, skip, the chunked row loop;
* ``_spans``      - one row's ``privacy_mask`` -> checked spans (fast path, careful path);
* ``_split``      - ``train_test_split``;
* ``_prompts``    - ``PromptBuilder`` and its three targets;
* ``_prepare``    - ``pii-gemini prepare``: stream a file to train/test JSONL (``_jsonl``
  encodes the lines column-wise).
"""

from ._load import load_pii_dataset
from ._prompts import PromptBuilder
from ._schemas import NORMALISED_COLUMNS, SCHEMAS, normalize_language
from ._split import train_test_split

__all__ = [
    "NORMALISED_COLUMNS",
    "SCHEMAS",
    "PromptBuilder",
    "load_pii_dataset",
    "normalize_language",
    "train_test_split",
]
