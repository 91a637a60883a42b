"""Files that may hold PII: private temp files, atomic replaces, and clean-up after a kill.

The temp file for ``dir/name`` is ``dir/.name.<pid>.<random>.tmp``, created with
``O_CREAT | O_EXCL | O_NOFOLLOW`` and mode 0600: a file or symlink planted at a predictable
name can neither receive the data nor redirect it. ``atomic_write`` fsyncs it, renames it
over the target and fsyncs the folder. A process killed between the write and the rename
leaves its temp file behind; ``clean_stale_temps`` (called by every atomic write) removes
those whose process is gone, so raw PII stays on disk only until the next run.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ._exceptions import StorageError

__all__ = [
    "RunLockedError",
    "atomic_write",
    "clean_stale_temps",
    "create_exclusive",
    "fsync_dir",
    "run_lock",
    "storage_errors",
    "temp_path",
]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_LEGACY_AGE_S = 60.0  # temp names of older versions carry no pid: removed once this old


@contextlib.contextmanager
def storage_errors(path: Path, action: str, hint: str = "") -> Iterator[None]:
    """Raise an ``OSError`` inside as a ``StorageError`` naming the file (the one the OS
    named, else ``path``) and the OS's reason; the data being handled is never quoted."""
    try:
        yield
    except StorageError:
        raise
    except OSError as exc:
        where = str(exc.filename if exc.filename is not None else path)
        reason = exc.strerror or type(exc).__name__
        message = f"cannot {action} {where}: {reason}" + (f"; {hint}" if hint else "")
        raise StorageError(message, path=where, error=exc) from exc


def temp_path(target: Path) -> Path:
    """A fresh, unpredictable temp name beside ``target`` that names this process."""
    return target.parent / f".{target.name}.{os.getpid()}.{secrets.token_hex(8)}.tmp"


def create_exclusive(path: Path, mode: int) -> int:
    """Open a new file for writing; fail if anything (even a dangling symlink) is there.

    A private ``mode`` (no group/other bits, e.g. 0600) is set exactly, whatever the umask;
    a wider one (0644) is narrowed by the umask as usual.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, mode)
    try:
        if hasattr(os, "fchmod") and not mode & 0o077:
            os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (a no-op where unsupported)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(target: Path, *, mode: int = 0o600) -> Iterator[BinaryIO]:
    """Write ``target`` whole or not at all: a private temp file, fsync, rename, fsync dir."""
    clean_stale_temps(target)
    tmp = temp_path(target)
    fd = create_exclusive(tmp, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # cannot tell cheaply: keep it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def clean_stale_temps(target: Path) -> int:
    """Remove temp files of ``target`` left by processes that are gone; return how many.

    Also removes the fixed-name temp files of older versions (``.name.tmp``,
    ``.name.<hex>.tmp``) once they are a minute old.
    """
    folder = target.parent
    if not folder.is_dir():
        return 0
    ours = re.compile(rf"\.{re.escape(target.name)}\.(\d+)\.[0-9a-f]{{16}}\.tmp")
    legacy = re.compile(rf"\.{re.escape(target.name)}(?:\.[0-9a-f]{{12}})?\.tmp")
    removed = 0
    prefix = f".{target.name}."
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            name = path.name
            if not name.startswith(prefix) or not name.endswith(".tmp"):
                continue
            m = ours.fullmatch(name)
            if m is not None:
                stale = not _alive(int(m.group(1)))
            elif legacy.fullmatch(name):
                age = 0.0
                with contextlib.suppress(OSError):
                    age = time.time() - path.lstat().st_mtime
                stale = age > _LEGACY_AGE_S
            else:
                continue
            if stale:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
    return removed


class RunLockedError(Exception):
    """Another live process holds the run lock of this output."""


@contextlib.contextmanager
def run_lock(target: Path) -> Iterator[None]:
    """Hold ``.<target>.lock`` (an empty 0600 file beside ``target``) exclusively, without
    waiting: two runs writing one output would interleave their lines. The kernel drops a
    ``flock`` when its process dies, so a killed run never blocks the next one (an empty
    lock file is then left behind). The holder removes the file before it lets go: a run
    that opened it just then may still lock the removed file while a third creates a new
    one, a three-way race this accepts to leave no stray files."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks, no check
        yield
        return
    lock_path = target.with_name(f".{target.name}.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RunLockedError(str(target)) from None
        try:
            yield
        finally:
            lock_path.unlink(missing_ok=True)  # still held: nobody else is in between
    finally:
        os.close(fd)  # closing drops the lock
