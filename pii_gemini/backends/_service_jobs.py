"""Tuning jobs of the fake service: the records the API returns and the job state machine.

A job's tuned model goes ``CREATING -> ACTIVE | FAILED`` (a cancelled job fails with rpc
code 1). How far a job has run is decided by a ``Progression`` (moto's ManagedState idea):
all at once, N steps per poll, or by a test-controllable clock. Each step trains the job's
``Learner`` on one batch and records its loss as a ``Snapshot``.

``export_state`` pickles ``_Job``, ``TunedModelRecord`` and ``Snapshot`` (the CLI keeps fake
models between runs that way), so ``_service`` gives them its module name: saved states name
them there.
"""

from __future__ import annotations

import datetime as _dt
import math
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from ._learner import Learner, ParsedExample

__all__ = [
    "RPC_CANCELLED",
    "RPC_INTERNAL",
    "OperationRecord",
    "Progression",
    "Snapshot",
    "TunedModelRecord",
    "copy_record",
    "new_job",
]

RPC_CANCELLED = 1  # google.rpc.Code of a cancelled operation
RPC_INTERNAL = 13  # google.rpc.Code of a failed one
_BASE_TEMPERATURE = 1.0  # what a tuned model inherits when none is given
_BASE_TOP_P = 0.95
_BASE_TOP_K = 64

Clock = Callable[[], float]
Now = Callable[[], _dt.datetime]


@dataclass(frozen=True)
class Progression:
    """How tuning jobs advance (moto's ManagedState idea).

    ``immediate``: a job finishes when created. ``polls``: each poll of a job
    (``get_operation``/``get_tuned_model``) runs ``steps_per_poll`` steps. ``time``: a job
    has run ``elapsed * steps_per_second`` steps, elapsed measured with the service clock.
    """

    mode: Literal["immediate", "polls", "time"]
    steps_per_poll: int = 1
    steps_per_second: float = 1.0

    def __post_init__(self) -> None:
        if self.mode not in ("immediate", "polls", "time"):
            raise ValueError(f"unknown progression mode {self.mode!r}")
        if self.steps_per_poll < 1:
            raise ValueError(f"steps_per_poll must be >= 1, got {self.steps_per_poll}")
        if not self.steps_per_second > 0:
            raise ValueError(f"steps_per_second must be > 0, got {self.steps_per_second}")

    @classmethod
    def immediate(cls) -> Progression:
        """Jobs finish as soon as they are created."""
        return cls("immediate")

    @classmethod
    def per_poll(cls, steps: int = 1) -> Progression:
        """Each poll of a job runs ``steps`` training steps."""
        return cls("polls", steps_per_poll=steps)

    @classmethod
    def timed(cls, steps_per_second: float) -> Progression:
        """Jobs run ``steps_per_second`` steps per second of the service clock."""
        return cls("time", steps_per_second=steps_per_second)


@dataclass
class Snapshot:
    """Training loss after one step."""

    step: int
    epoch: int
    mean_loss: float
    compute_time: _dt.datetime


@dataclass
class TunedModelRecord:
    """The TunedModel resource."""

    name: str
    base_model: str
    source_tuned_model: str | None
    display_name: str
    description: str
    temperature: float | None
    top_p: float | None
    top_k: int | None
    state: str
    create_time: _dt.datetime
    update_time: _dt.datetime
    start_time: _dt.datetime | None
    complete_time: _dt.datetime | None
    epoch_count: int
    batch_size: int
    learning_rate: float
    total_steps: int
    completed_steps: int
    snapshots: list[Snapshot]
    operation: str
    error: tuple[int, str] | None


@dataclass
class OperationRecord:
    """The long-running operation of a tuning job (CreateTunedModelMetadata + status)."""

    name: str
    tuned_model: str
    done: bool
    error: tuple[int, str] | None
    total_steps: int
    completed_steps: int
    completed_percent: float
    snapshots: list[Snapshot]


@dataclass
class _Job:
    record: TunedModelRecord
    learner: Learner
    examples: list[ParsedExample]
    rng: random.Random
    started_at: float  # service clock when the job started
    fail_at: int | None = None  # step at which an injected failure strikes
    fail_message: str = ""
    order: list[int] = field(default_factory=list)  # example order of the current epoch
    # the job's own pace, else None: the service's (the CLI's saved fake jobs keep the
    # --fake-speed they were started with; jobs pickled before this field read None)
    progression: Progression | None = None

    def advance(self, progression: Progression, clock: Clock, now: Now, *, poll: bool) -> None:
        """Run the steps due by now: per poll (only when ``poll``), by clock, or all; at the
        job's own progression when it has one, else at ``progression`` (the service's)."""
        if self.record.state != "CREATING":
            return
        progression = self.progression or progression
        mode = progression.mode
        if mode == "polls" and poll:
            self.run_steps(progression.steps_per_poll, now)
        elif mode == "time":
            elapsed = max(0.0, clock() - self.started_at)
            target = min(self.record.total_steps, int(elapsed * progression.steps_per_second))
            self.run_steps(target - self.record.completed_steps, now)
        elif mode == "immediate":
            self.run_steps(self.record.total_steps, now)

    def run_steps(self, count: int, now: Now) -> None:
        """Train up to ``count`` batches (reshuffled each epoch); finish or fail when due."""
        record = self.record
        per_epoch = math.ceil(len(self.examples) / record.batch_size)
        for _ in range(max(0, count)):
            if record.state != "CREATING":
                return
            step = record.completed_steps  # 0-based index of the step to run
            if self.fail_at is not None and step + 1 >= self.fail_at:
                self.finish(now, error=(RPC_INTERNAL, self.fail_message))
                return
            epoch, batch_index = divmod(step, per_epoch)
            if batch_index == 0:
                self.order = list(range(len(self.examples)))
                self.rng.shuffle(self.order)
            lo = batch_index * record.batch_size
            batch = [self.examples[i] for i in self.order[lo : lo + record.batch_size]]
            loss = self.learner.train_step(batch, record.learning_rate, self.rng)
            record.completed_steps = step + 1
            record.snapshots.append(Snapshot(step + 1, epoch + 1, round(loss, 6), now()))
            if record.completed_steps >= record.total_steps:
                self.finish(now, error=None)

    def finish(self, now: Now, *, error: tuple[int, str] | None) -> None:
        """End the job: ACTIVE, or FAILED with an rpc ``(code, message)``."""
        stamp = now()
        self.record.state = "FAILED" if error else "ACTIVE"
        self.record.error = error
        self.record.complete_time = stamp
        self.record.update_time = stamp

    def update(self, now: Now, **fields: object) -> None:
        """Set the record's fields given as not None, and its update time."""
        for key, value in fields.items():
            if value is not None:
                setattr(self.record, key, value)
        self.record.update_time = now()

    def operation_record(self) -> OperationRecord:
        """The job's operation as the API describes it (a copy)."""
        record = self.record
        total = record.total_steps
        return OperationRecord(
            name=record.operation,
            tuned_model=record.name,
            done=record.state != "CREATING",
            error=record.error,
            total_steps=total,
            completed_steps=record.completed_steps,
            completed_percent=100.0 * record.completed_steps / total if total else 0.0,
            snapshots=[replace(s) for s in record.snapshots],
        )


def new_job(
    *,
    name: str,
    operation: str,
    base_model: str,
    source: str | None,
    display_name: str,
    description: str,
    temperature: float | None,
    top_p: float | None,
    top_k: int | None,
    epochs: int,
    batch: int,
    rate: float,
    learner: Learner,
    examples: list[ParsedExample],
    seed: int,
    clock: Clock,
    now: Now,
) -> _Job:
    """A job in state CREATING with no step run; its shuffling RNG is seeded by its name."""
    stamp = now()
    steps = math.ceil(len(examples) / batch) * epochs
    record = TunedModelRecord(
        name=name,
        base_model=base_model,
        source_tuned_model=source,
        display_name=display_name or "",
        description=description or "",
        temperature=_BASE_TEMPERATURE if temperature is None else temperature,
        top_p=_BASE_TOP_P if top_p is None else top_p,
        top_k=_BASE_TOP_K if top_k is None else top_k,
        state="CREATING",
        create_time=stamp,
        update_time=stamp,
        start_time=stamp,
        complete_time=None,
        epoch_count=epochs,
        batch_size=batch,
        learning_rate=rate,
        total_steps=steps,
        completed_steps=0,
        snapshots=[],
        operation=operation,
        error=None,
    )
    return _Job(
        record=record,
        learner=learner,
        examples=examples,
        rng=random.Random(zlib.crc32(f"{seed}:{name}".encode())),
        started_at=clock(),
    )


def copy_record(record: TunedModelRecord) -> TunedModelRecord:
    """An independent copy of a tuned model record (callers may not change the service's)."""
    return replace(record, snapshots=[replace(s) for s in record.snapshots])
