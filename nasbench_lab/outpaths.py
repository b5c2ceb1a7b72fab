"""Output paths and the lock that keeps two processes from writing into one of them.

Every command that writes (run, compare, build, import) checks its output path here first, so
a path that is a file, a directory, or not writable is one line of error before any work, and
takes an exclusive lock (`fcntl.flock` on a lock file), so a second process writing into the
same results directory or the same table is refused instead of mixing its data in. The
kernel drops the lock when its process dies (SIGKILL included): a killed command never
leaves a stale lock behind, and rerunning it resumes as before.
"""
from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path

from nasbench_lab import NasbenchError

LOCK_NAME = ".nasbench-lab.lock"


def _first_line(e: OSError) -> str:
    return e.strerror or str(e).splitlines()[0]


def prepare_out_dir(path, what: str = "--out") -> Path:
    """Create (or accept) an output directory; one-line errors for files and unwritable places."""
    p = Path(os.fspath(path))
    if p.exists() and not p.is_dir():
        raise NasbenchError(f"{what} {p} is a file, not a directory; give a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise NasbenchError(f"cannot create {what} {p}: {_first_line(e)}") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise NasbenchError(f"{what} {p} is not writable")
    return p


def prepare_out_file(path, what: str = "--out", suffix: str | None = ".h5") -> Path:
    """Check an output file path: not a directory, in a writable (creatable) folder."""
    p = Path(os.fspath(path))
    if suffix and p.suffix != suffix:
        raise NasbenchError(f"{what} must end in {suffix}, got {p}")
    if p.is_dir():
        raise NasbenchError(f"{what} {p} is a directory; give a file name ending in {suffix or ''}")
    parent = p.parent if str(p.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise NasbenchError(f"{what} {p}: {parent} is a file, not a directory")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise NasbenchError(f"cannot create the folder of {what} {p}: {_first_line(e)}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise NasbenchError(f"{what} {p}: the folder {parent} is not writable")
    if p.exists() and not os.access(p, os.W_OK):
        raise NasbenchError(f"{what} {p} exists and is not writable")
    return p


@contextmanager
def exclusive(lock_path, what: str):
    """Hold an exclusive lock on `lock_path` (created if needed) or refuse at once."""
    import fcntl

    lock_path = Path(lock_path)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise NasbenchError(f"cannot create the lock file {lock_path}: {_first_line(e)}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise NasbenchError(f"cannot lock {lock_path}: {_first_line(e)}") from None
            try:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            except OSError:
                holder = "?"
            raise NasbenchError(f"another nasbench-lab process (pid {holder}) is writing {what}; wait "
                                "for it to finish or use another output") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def check_no_file_above(path, what: str = "--out") -> None:
    """No folder on the way to `path` may be a file (a typo like --out results.h5/t.h5)."""
    p = Path(os.fspath(path)).absolute()
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise NasbenchError(f"{what} {path}: {parent} is a file, not a directory")
            return
