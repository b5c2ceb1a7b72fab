"""What the conformance check `check_no_test_access` can see of a strategy reaching for test metrics in process.

In-process isolation in Python cannot be complete: a strategy runs in the same interpreter as
the runner, which holds the table. This module gives the check two honest instruments, and
says exactly what each sees:

1. `find_reachable(roots, types)`: a walk of the object graph (`gc.get_referents`) from the
   strategy and its `SearchContext`: attributes, containers, closures, bound methods, class
   attributes; it does not enter module namespaces (a module object or a module's `__dict__`),
   because every module global is reachable that way, nor (as the check calls it) a space's
   enumeration (spaces/finite.py: nasbench_lab's shared list of every architecture, 15,625
   objects on NB201, built by the space itself). It finds an object of a forbidden type
   (a Table, a SearchView, an h5py file/group/dataset, ...) the strategy holds or was handed.
2. `Watch`: while active (the check turns it on only while the strategy's own `ask()`,
   `tell()` and `__init__` run) an audit hook (PEP 578) records, and refuses by raising, the
   routes that leave a trace:
   - frame introspection: `sys._getframe`, `sys._current_frames`, and the `tb_frame`,
     `gi_frame`, `cr_frame`, `ag_frame` attributes (the runner's frame holds the view), except
     when called from the standard library's `logging`, `warnings` and `traceback` modules
     (they look up their caller's file and line);
   - the garbage collector's object lists: `gc.get_objects`, `gc.get_referrers`,
     `gc.get_referents`;
   - opening an HDF5 file (`open`/`os.open` of a path ending .h5/.hdf5 or of a given table
     path, or `h5py.File(...)`), or `/proc/<pid>/mem`;
   - `ctypes` (raw memory) and starting processes (`subprocess`, `os.system`, `os.exec*`,
     `os.posix_spawn`, `os.fork`): a child or raw memory could read anything.

Not seen (documented, not claimed): module globals reached by import (e.g. a cache such as
`nasbench_lab.experiment._VIEWS`, or this check's own fixtures: attribute reads are not
audited); walking `frame.f_back` from a frame obtained through one of the allowed modules
(e.g. `traceback.walk_tb`); C extensions; anything done in another thread after the
strategy's call returned. For real isolation the classroom grader (`nasbench-lab grade`)
runs the graded code in a separate process that never holds test values.
"""
from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
import types

_FRAME_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
_GC_EVENTS = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents"})
_FRAME_EVENTS = frozenset({"sys._getframe", "sys._current_frames"})
_PROCESS_EVENTS = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
                             "os.fork", "os.forkpty", "pty.spawn"})


class AccessRefused(AssertionError):
    """Raised (inside the strategy's call) for a route to test metrics that the watch sees."""


_ATOMS = frozenset({int, float, complex, str, bytes, bool, type(None)})


def find_reachable(roots, forbidden: tuple, leaves: tuple = (), limit: int = 2_000_000):
    """(path, type name) of the first object of a `forbidden` type reachable from `roots`
    without entering a module namespace or an object of a `leaves` type, or None. `path`
    names the types on the way."""
    module_dicts = {id(m.__dict__) for m in list(sys.modules.values()) if isinstance(m, types.ModuleType)}
    parent: dict[int, object] = {id(r): None for r in roots}
    stack = list(roots)
    atoms, referents, module = _ATOMS, gc.get_referents, types.ModuleType
    while stack:
        obj = stack.pop()
        if isinstance(obj, module) or id(obj) in module_dicts or isinstance(obj, leaves):
            continue
        if isinstance(obj, forbidden):
            path, o = [], obj
            while o is not None:
                path.append(type(o).__name__)
                o = parent[id(o)]
            return " > ".join(reversed(path)), type(obj).__name__
        if len(parent) > limit:
            return None
        for child in referents(obj):
            if type(child) not in atoms and id(child) not in parent:
                parent[id(child)] = obj
                stack.append(child)
    return None


def _library_dirs() -> tuple[str, ...]:
    """Folders of the standard library and installed packages (their own frame look-ups,
    e.g. collections.namedtuple or logging, are not the strategy's)."""
    import sysconfig

    dirs = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(sorted(os.path.realpath(d) + os.sep for d in dirs))


class Watch:
    """The audit hook (installed once per process; idle unless `active`)."""

    _installed: "Watch | None" = None

    def __init__(self):
        self.active = False
        self.paths: set[str] = set()
        self.seen: list[str] = []
        self._busy = threading.local()
        self._callers: dict[str, bool] = {}
        self._libraries = _library_dirs()
        import inspect

        self._refused = (os.path.realpath(inspect.__file__),)  # inspect hands frames to its caller

    @classmethod
    def get(cls) -> "Watch":
        if cls._installed is None:
            cls._installed = cls()
            sys.addaudithook(cls._installed._hook)
        return cls._installed

    def _caller_allowed(self) -> bool:
        name = sys._getframe(3).f_code.co_filename  # 0 here, 1 _classify, 2 _hook, 3 the caller
        cached = self._callers.get(name)
        if cached is None:
            real = os.path.realpath(name)
            cached = self._callers[name] = real.startswith(self._libraries) and real not in self._refused
        return cached

    @contextlib.contextmanager
    def during(self, paths=()):
        """Watch (and refuse) the routes above while the block runs; h5py.File is blocked too
        (HDF5 opens files in C, with no audit event)."""
        try:
            import h5py
        except ImportError:  # pragma: no cover
            h5py = None
        saved = h5py.File.__init__ if h5py is not None else None
        was, old_paths = self.active, self.paths

        def blocked(obj, name, *a, **k):
            self.seen.append(f"opened {name!r} with h5py.File")
            raise AccessRefused(f"the strategy opened {name!r} with h5py.File: strategies must not read "
                               "tables (test metrics would leak); use only the Observations given to tell()")

        try:
            if h5py is not None:
                h5py.File.__init__ = blocked
            self.paths = {os.path.abspath(os.fspath(p)) for p in paths} | old_paths
            self.active = True
            yield self
        finally:
            self.active, self.paths = was, old_paths
            if h5py is not None:
                h5py.File.__init__ = saved

    def _hook(self, event: str, args) -> None:
        if not self.active or getattr(self._busy, "on", False):
            return
        self._busy.on = True
        try:
            what = self._classify(event, args)
        finally:
            self._busy.on = False
        if what:
            self.seen.append(what)
            raise AccessRefused(f"the strategy {what}: strategies must not reach the runner's or the table's "
                               "data (test metrics); use only the Observations given to tell()")

    def _classify(self, event: str, args) -> str | None:
        if event in _FRAME_EVENTS:
            return None if self._caller_allowed() else f"inspected the call stack ({event})"
        if event == "object.__getattr__" and len(args) > 1 and args[1] in _FRAME_ATTRS:
            return None if self._caller_allowed() else f"took a frame object (.{args[1]})"
        if event in _GC_EVENTS:
            return f"walked the garbage collector's objects ({event})"
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            p = os.fsdecode(args[0])
            if p.endswith((".h5", ".hdf5")) or os.path.abspath(p) in self.paths or \
                    (p.startswith("/proc/") and p.endswith("/mem")):
                return f"opened the file {p}"
        if event.startswith("ctypes."):
            return f"used ctypes ({event})"
        if event in _PROCESS_EVENTS:
            return f"started a process ({event})"
        return None



class Watched:
    """A strategy whose `ask()` and `tell()` run under `Watch.get().during(paths)`."""

    def __init__(self, strategy, paths=()):
        self.strategy, self.paths, self.watch = strategy, tuple(paths), Watch.get()

    def ask(self):
        with self.watch.during(self.paths):
            return self.strategy.ask()

    def tell(self, ask, obs):
        with self.watch.during(self.paths):
            return self.strategy.tell(ask, obs)


__all__ = ["AccessRefused", "find_reachable", "Watch", "Watched"]
