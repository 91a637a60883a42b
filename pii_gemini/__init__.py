"""pii_gemini: fine-tune Gemini to mask personal data (PII), then mask and evaluate at scale.
The workflow, each step a public module:

* ``dataset``  - load ai4privacy data (any schema) and build prompts (``PromptBuilder``);
* ``tuning``   - tune a model and watch it (``Tuner``);
* ``masking``  - mask texts, frames and files with it (``Masker``);
* ``metrics``  - score the masking (``metrics.evaluate``);
* ``backends`` - where it runs: ``FakeBackend`` offline, ``GeminiBackend``, ``VertexBackend``.
"""

import logging

from . import backends as backends
from . import dataset as dataset
from . import masking as masking
from . import metrics as metrics
from . import tuning as tuning
from ._credentials import make_backend
from ._exceptions import (
    AlreadyExistsError,
    BackendError,
    BackendUnavailableError,
    CircuitOpenError,
    ConfigError,
    DatasetError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    PiiGeminiError,
    QuotaExhaustedError,
    RateLimitError,
    StorageError,
    TransientBackendError,
    TuningError,
    TuningJobCancelled,
    TuningJobFailed,
    TuningTimeout,
    VaultMismatchError,
)
from ._presidio import from_presidio, to_presidio
from ._report import EvaluationReport
from ._retry import Retrier, RetryPolicy
from ._types import (
    Generation,
    GenerationConfig,
    Hyperparameters,
    JobState,
    LossSnapshot,
    MaskResult,
    MaskStatus,
    Span,
    TunedModelInfo,
    TuningExample,
    TuningJobInfo,
    TuningSpec,
)
from ._unmaskfile import UnmaskSummary, unmask_file
from ._version import __version__
from .backends import Backend, FakeBackend
from .dataset import PromptBuilder, load_pii_dataset, train_test_split
from .detectors import SafetyNet, SafetyNetResult
from .masking import Masker, MaskSummary
from .operators import Anonymized, anonymize
from .tuning import DEFAULT_SOURCE_MODEL, Tuner, TuningJob
from .vault import Vault, unmask

__all__ = [
    "DEFAULT_SOURCE_MODEL",
    "AlreadyExistsError",
    "Anonymized",
    "Backend",
    "BackendError",
    "BackendUnavailableError",
    "CircuitOpenError",
    "ConfigError",
    "DatasetError",
    "EvaluationReport",
    "FakeBackend",
    "Generation",
    "GenerationConfig",
    "Hyperparameters",
    "InvalidRequestError",
    "JobState",
    "LossSnapshot",
    "MaskResult",
    "MaskStatus",
    "MaskSummary",
    "Masker",
    "NotFoundError",
    "PermissionDeniedError",
    "PiiGeminiError",
    "PromptBuilder",
    "QuotaExhaustedError",
    "RateLimitError",
    "Retrier",
    "RetryPolicy",
    "SafetyNet",
    "SafetyNetResult",
    "Span",
    "StorageError",
    "TransientBackendError",
    "TunedModelInfo",
    "Tuner",
    "TuningError",
    "TuningExample",
    "TuningJob",
    "TuningJobCancelled",
    "TuningJobFailed",
    "TuningJobInfo",
    "TuningSpec",
    "TuningTimeout",
    "UnmaskSummary",
    "Vault",
    "VaultMismatchError",
    "__version__",
    "anonymize",
    "from_presidio",
    "load_pii_dataset",
    "make_backend",
    "to_presidio",
    "train_test_split",
    "unmask",
    "unmask_file",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
