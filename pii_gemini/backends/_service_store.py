"""The fake service's tuned models: jobs keyed by model name, operations, and the id RNG.

``TunedModels`` looks jobs up the way the API does (404 NOT_FOUND), names new models (ids
checked or derived, 409 ALREADY_EXISTS), picks what a tuning job starts from, allocates
operation names from one seeded RNG, and exports/imports itself for ``export_state``. It
holds no lock: ``FakeService`` calls it under its own.
"""

from __future__ import annotations

import copy
import random
import re
import string
from collections.abc import Sequence

from ._learner import Learner
from ._service_checks import check_model_id
from ._service_errors import ServiceError, invalid, not_found, precondition
from ._service_jobs import _Job

__all__ = ["TunedModels"]

_SUFFIX_CHARS = string.ascii_lowercase + string.digits


class TunedModels:
    """Tuned models and their operations, in creation order."""

    def __init__(self, seed: int) -> None:
        self.jobs: dict[str, _Job] = {}
        self.operations: dict[str, str] = {}  # operation name -> tuned model name
        self.rng = random.Random(seed)

    def job(self, name: str) -> _Job:
        """The job of tuned model ``name`` (404 when there is none)."""
        job = self.jobs.get(name)
        if job is None:
            raise not_found(name)
        return job

    def job_of_operation(self, name: str) -> _Job:
        """The job of operation ``name`` (404 when there is none)."""
        model = self.operations.get(name)
        if model is None or model not in self.jobs:
            raise not_found(name)
        return self.jobs[model]

    def find(self, name: str) -> _Job:
        """The job of a tuned model or operation name, for test controls (ValueError)."""
        model = self.operations.get(name, name)
        job = self.jobs.get(model)
        if job is None:
            raise ValueError(f"no tuned model or operation named {name!r}")
        return job

    def add(self, job: _Job) -> None:
        """Register a new job under its model and operation names."""
        self.jobs[job.record.name] = job
        self.operations[job.record.operation] = job.record.name

    def remove(self, job: _Job) -> None:
        """Forget a job and its operation."""
        del self.jobs[job.record.name]
        self.operations.pop(job.record.operation, None)

    def new_name(self, tuned_model_id: str | None, display_name: str) -> str:
        """``tunedModels/<id>`` for a new model: the id given (checked) or one derived."""
        if tuned_model_id is not None:
            model_id = check_model_id(tuned_model_id)
        else:
            model_id = self.derive_id(display_name)
        name = f"tunedModels/{model_id}"
        if name in self.jobs:
            raise ServiceError(409, "ALREADY_EXISTS", f"Tuned model {name} already exists.")
        return name

    def tuning_source(
        self,
        base_model: str | None,
        tuned_model_source: str | None,
        *,
        base_models: Sequence[str],
        tunable_models: Sequence[str],
    ) -> tuple[Learner, str, str | None]:
        """What a job starts from: a copy of an ACTIVE tuned model, or a tunable base model.

        Returns the learner to train, the base model and the source tuned model (or None).
        """
        if (base_model is None) == (tuned_model_source is None):
            raise invalid("Exactly one of base_model and tuned_model_source must be set.")
        if tuned_model_source is not None:
            job = self.jobs.get(tuned_model_source)
            if job is None:
                raise not_found(tuned_model_source)
            if job.record.state != "ACTIVE":
                raise precondition(f"{tuned_model_source} is not ACTIVE; it cannot be tuned.")
            return job.learner.clone(), job.record.base_model, tuned_model_source
        assert base_model is not None
        if base_model not in base_models:
            raise not_found(base_model)
        if base_model not in tunable_models:
            raise invalid(f"Base model {base_model} does not support tuning.")
        return Learner(), base_model, None

    def derive_id(self, display_name: str) -> str:
        """A free id from the display name, as the API derives it: ``slug-xxxxx``."""
        slug = re.sub(r"[^a-z0-9]+", "-", (display_name or "").lower()).strip("-")
        slug = slug.lstrip("0123456789-") or "tuned-model"
        slug = slug[:34].rstrip("-")
        for _ in range(100):
            candidate = f"{slug}-{self.random_suffix(5)}"
            if f"tunedModels/{candidate}" not in self.jobs:
                return candidate
        raise ServiceError(500, "INTERNAL", "Could not allocate a tuned model id.")

    def random_suffix(self, length: int) -> str:
        """``length`` lowercase letters and digits from the id RNG."""
        return "".join(self.rng.choice(_SUFFIX_CHARS) for _ in range(length))

    def export(self) -> dict[str, object]:
        """A deep copy of the models, operations and id RNG (picklable)."""
        return copy.deepcopy({"jobs": self.jobs, "operations": self.operations, "rng": self.rng})

    def load(self, state: dict[str, object]) -> None:
        """Replace everything with a copy of ``export()``'s result (ValueError if not one)."""
        jobs, operations, rng = state["jobs"], state["operations"], state["rng"]
        if not (
            isinstance(jobs, dict)
            and isinstance(operations, dict)
            and isinstance(rng, random.Random)
            and all(isinstance(job, _Job) for job in jobs.values())
        ):
            raise ValueError("not a FakeService state")
        self.jobs = copy.deepcopy(jobs)
        self.operations = dict(operations)
        self.rng = copy.deepcopy(rng)
