"""Linux Landlock for the graded process: read only what running Python code needs, write only its own folder, signal nobody.

`confinement_for` (in the grader) lists the paths; `apply` (in the graded process, after its
imports, before the student's file) restricts the process for good, when the kernel offers
Landlock (5.13+; signal scoping 6.12+). The readable paths: the Python installation's library
folders, the package's code (its table files excluded), the student's folder, the MNIST-1D
cache and system folders (/usr, /lib, /etc, /proc, /sys, /dev). Everything else, table files
included wherever they are, cannot be opened. Where Landlock is missing nothing is restricted
and `apply` returns False: see sandbox.py for what then remains possible.
"""
from __future__ import annotations

import ctypes
import os
import site
import sys
import sysconfig
from pathlib import Path

_SYS_CREATE, _SYS_ADD, _SYS_RESTRICT = 444, 445, 446   # the same numbers on x86-64 and arm64
_PR_SET_NO_NEW_PRIVS = 38
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1, 2, 4, 8
_FS_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | (1 << 14) | (1 << 15)
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2
READ = _EXECUTE | _READ_FILE | _READ_DIR
SYSTEM = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/proc", "/sys", "/dev", "/opt")


def _table_files(extra=()) -> set[str]:
    from nasbench_lab.tables.registry import table_dirs

    files = set()
    for d in table_dirs():
        for p in d.iterdir():
            if p.is_file():
                files.add(os.path.realpath(p))
    for name in extra:   # the tables a teacher names (--table), wherever they are
        try:
            from nasbench_lab.tables.registry import resolve_table

            files.add(os.path.realpath(resolve_table(name)))
        except Exception:  # an unknown name: the grade reports it; nothing to hide
            pass
    return files


def _python_dirs() -> list[str]:
    dirs = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    dirs.update(site.getsitepackages())
    dirs.update(p for p in sys.path if p.endswith(("site-packages", "dist-packages", ".zip")))
    return sorted(d for d in dirs if os.path.exists(d))


def confinement_for(student_folder, tmp: str, spec: str | None = None, tables=()) -> dict:
    """The paths the graded process may read and write, and the table files it must not read."""
    import nasbench_lab
    from nasbench_lab.live.data import _cache_dir

    read = list(SYSTEM) + _python_dirs() + [str(Path(nasbench_lab.__file__).resolve().parent),
                                            str(Path(student_folder).resolve())]
    if spec and ".py" in spec:
        read.append(str(Path(spec.split(":")[0]).resolve().parent))
    cache = _cache_dir()
    if cache is not None and cache.is_dir():
        read.append(str(cache))
    return {"read": read, "write": [tmp], "hidden": sorted(_table_files(tables))}


def _abi(libc) -> int:
    libc.syscall.restype = ctypes.c_long
    return int(libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))


class _Ruleset(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("fd", ctypes.c_int32)]


def apply(rules: dict | None) -> bool:
    """Restrict this process to `rules` (confinement_for's); False where Landlock is unavailable."""
    if not rules or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        abi = _abi(libc)
    except (OSError, AttributeError):
        return False
    if abi < 1:
        return False
    fs = _FS_ABI.get(abi, _FS_ABI[5])
    attr = _Ruleset(fs, 0, (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_Ruleset) if abi >= 6 else 8
    fd = libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        return False
    hidden = set(rules.get("hidden", ()))
    try:
        for p in rules.get("read", ()):
            _grant(libc, fd, p, READ & fs, hidden)
        for p in rules.get("write", ()):
            _grant(libc, fd, p, fs, hidden)
        _grant(libc, fd, "/dev/null", (READ | _WRITE_FILE) & fs & _FILE_RIGHTS, hidden)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return False
        if libc.syscall(_SYS_RESTRICT, ctypes.c_int(fd), ctypes.c_uint32(0)) != 0:
            return False
    finally:
        os.close(fd)
    return True


def _grant(libc, ruleset: int, path: str, rights: int, hidden: set) -> None:
    """Allow `rights` beneath `path`; where a hidden file lies beneath it, allow its siblings one by
    one instead (Landlock has allow rules only)."""
    real = os.path.realpath(path)
    if not os.path.exists(real) or real in hidden:
        return
    inside = [h for h in hidden if h.startswith(real.rstrip("/") + "/")]
    if inside and os.path.isdir(real):
        try:
            names = os.listdir(real)
        except OSError:
            return
        for name in names:
            _grant(libc, ruleset, os.path.join(real, name), rights, hidden)
        rights &= _READ_DIR   # its listing (names only) stays readable: imports scan folders
        if not rights:
            return
    if not os.path.isdir(real):
        rights &= _FILE_RIGHTS
    try:
        pfd = os.open(real, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        rule = _PathBeneath(rights, pfd)
        libc.syscall(_SYS_ADD, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule), ctypes.c_uint32(0))
    finally:
        os.close(pfd)
