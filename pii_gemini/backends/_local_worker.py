"""The local backend's training worker: a thread, or a process of its own, and its supervision.

``start_worker`` runs ``_local_train.train`` for one model folder, either in a daemon
thread of the caller or (the default) in a new Python process started with
``python -m pii_gemini.backends._local_worker FOLDER FD``, in its own session, so training
goes on after the command that started it returns, like a cloud job. Either way the worker
holds the folder's ``worker.lock`` (the fd the caller claimed is handed over) until it ends:
the lock is how pollers tell a live worker from a crashed one.

``supervise`` is what a poll runs for an unfinished job: a worker whose lock is free has
died, and a new one resumes the job from its last checkpoint.

An error ends the job FAILED with a one-line reason: the library's own message, or only
the exception's class for anything else (a foreign message might quote the data); the
traceback, without messages, goes to ``worker.log``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

from .._exceptions import BackendError, PiiGeminiError
from .._types import JobState
from ._local_card import ModelCard
from ._local_runtime import OPENMP_WAIT_ENV
from ._local_store import ModelFolder, write_atomic

__all__ = [
    "await_worker_exit",
    "exit_status",
    "main",
    "run",
    "start_worker",
    "supervise",
    "tidy",
    "track_worker",
    "worker_died",
]

_PRIVATE = 0o600
_FINISH_WAIT_S = 10.0  # how long to wait for a finished worker to let go of its folder
_EXIT_WAIT_S = 0.5  # how long to wait for a dead worker's exit status (its reaper's wait)
# the worker processes this process started, by pid: only a parent learns how one ended
_STARTED: dict[int, subprocess.Popen[bytes]] = {}
_STARTED_LOCK = threading.Lock()


def start_worker(folder: ModelFolder, lock_fd: int, *, mode: str) -> int | None:
    """Start training ``folder`` in a ``"thread"`` or ``"process"``; the process id, if any.

    ``lock_fd`` holds ``worker.lock``; it belongs to the worker from now on.
    """
    if mode == "thread":
        thread = threading.Thread(
            target=run, args=(folder, lock_fd), name="pii-gemini-local-train", daemon=True
        )
        thread.start()
        return None
    log = os.open(folder.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, _PRIVATE)
    try:
        process = _spawn(folder, lock_fd, log)
    except OSError as exc:
        raise BackendError(f"could not start a training worker: {exc.strerror}") from exc
    finally:
        os.close(log)
        os.close(lock_fd)  # the child holds the lock now
    track_worker(process)
    write_atomic(folder.pid_path, f"{process.pid}\n")  # the worker writes it too, once it runs
    # Reap the worker when it ends (no zombie, no "still running" warning for the handle).
    threading.Thread(target=process.wait, name="pii-gemini-local-reaper", daemon=True).start()
    return process.pid


def track_worker(process: subprocess.Popen[bytes]) -> None:
    """Remember a worker process this process started, so that ``exit_status`` can tell how
    it ended (only its parent can)."""
    with _STARTED_LOCK:
        _STARTED[process.pid] = process


def exit_status(pid: int) -> int | None:
    """How the worker process ``pid`` ended - its exit code, or minus the signal that killed
    it - when this process started it; None when another did (a ``tune`` without ``--wait``
    that has returned since) or it has not ended within a moment."""
    with _STARTED_LOCK:
        process = _STARTED.get(pid)
    if process is None:
        return None
    try:
        return process.wait(timeout=_EXIT_WAIT_S)
    except subprocess.TimeoutExpired:
        return None


def _last_exit(folder: ModelFolder) -> int | None:
    """``exit_status`` of the last worker of ``folder`` (the one ``worker.pid`` names)."""
    try:
        return exit_status(int(folder.pid_path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def worker_died(times: int, status: int | None, log: Path) -> str:
    """The error of a job whose worker died ``times`` times, the last one with exit
    ``status`` (negative: killed by that signal; None: not known)."""
    if status is None:
        how = (
            "how the last one ended is not known here (only the process that started it can "
            "tell; a kill -9 or the out-of-memory killer leaves no trace in the log)"
        )
    elif status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        how = f"the last one was killed by {name}"
        if name == "SIGKILL":
            how += " (kill -9, or the kernel's out-of-memory killer: see dmesg)"
    else:
        how = f"the last one exited with code {status}"
    often = "once" if times == 1 else f"{times} times"
    return f"the training worker stopped {often} without finishing: {how}; see {log}"


def _spawn(folder: ModelFolder, lock_fd: int, log: int) -> subprocess.Popen[bytes]:
    path = folder.path.resolve()  # absolute: the worker starts in it, a relative path breaks
    return subprocess.Popen(
        [sys.executable, "-m", __name__, str(path), str(lock_fd)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        pass_fds=(lock_fd,),
        cwd=path,  # not the caller's folder, whose sources would shadow the install
        env={OPENMP_WAIT_ENV: "PASSIVE", **os.environ},  # see prefer_passive_openmp
        start_new_session=True,  # Ctrl-C in the caller's terminal does not stop it
        close_fds=True,
    )


def supervise(folder: ModelFolder, card: ModelCard, *, mode: str, max_restarts: int) -> ModelCard:
    """The card of an unfinished job, after restarting its worker if it died.

    Call it under the folder's control lock. A dead worker's job resumes from its last
    checkpoint in a new worker (``mode``), or ends CANCELLED (a cancel was asked for) or
    FAILED (it already died ``max_restarts`` times).
    """
    lock = folder.claim_worker_lock()
    if lock is None:
        return card  # alive
    try:
        card = folder.read_card()  # the worker writes its last state before it lets go
        if card.state.is_terminal:
            return card
        if folder.cancel_requested():
            card = card.replace(state=JobState.CANCELLED)
        elif card.restarts >= max_restarts:
            card = card.replace(
                state=JobState.FAILED,
                error=worker_died(card.restarts + 1, _last_exit(folder), folder.log_path),
            )
        else:
            folder.write_card(card.replace(restarts=card.restarts + 1))
            start_worker(folder, lock, mode=mode)
            lock = None
            return folder.read_card()
        folder.write_card(card)
        folder.discard_work_files()
        return card
    finally:
        if lock is not None:
            os.close(lock)


def tidy(folder: ModelFolder) -> None:
    """Drop what a finished job's worker left (it died between its last write and this)."""
    lock = folder.claim_worker_lock()
    if lock is not None:
        folder.discard_work_files()
        os.close(lock)


def await_worker_exit(folder: ModelFolder) -> int | None:
    """The worker lock once a finishing worker lets go of it (None after a few seconds)."""
    deadline = time.monotonic() + _FINISH_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(0.01)
        lock = folder.claim_worker_lock()
        if lock is not None:
            return lock
    return None


def run(folder: ModelFolder, lock_fd: int) -> None:
    """Train ``folder`` to its end; record a failure on the card. Releases the lock."""
    from ._local_train import train

    try:
        write_atomic(folder.pid_path, f"{os.getpid()}\n")
        train(folder)
    except Exception as exc:
        _record_failure(folder, exc)
    finally:
        os.close(lock_fd)


def _record_failure(folder: ModelFolder, exc: Exception) -> None:
    if isinstance(exc, PiiGeminiError):
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    else:
        reason = f"the training worker stopped on {type(exc).__name__} (see {folder.log_path})"
    try:
        with open(folder.log_path, "a", encoding="utf-8") as log:
            log.write(f"{type(exc).__name__} (message left out)\n")
            log.writelines(traceback.format_tb(exc.__traceback__))
        os.chmod(folder.log_path, _PRIVATE)
        card = folder.read_card()
        if not card.state.is_terminal:
            folder.write_card(card.replace(state=JobState.FAILED, error=reason))
        folder.discard_work_files()
    except OSError:  # the folder was deleted meanwhile: nothing to record
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point of the worker process: ``FOLDER FD``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m pii_gemini.backends._local_worker FOLDER FD", file=sys.stderr)
        return 2
    path = Path(args[0])
    run(ModelFolder(path.parent, path.name), int(args[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
