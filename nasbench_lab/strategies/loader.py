"""Strategies from outside the package: `path/to/file.py:ClassName` or `package.module:ClassName`.

A reference is resolved the same way in every process: a file is loaded by path under a
module name derived from its absolute path (so a worker process, which loads it again,
gets a class of the same module and qualified name, and pickles of its instances resolve),
with the file's folder on sys.path (as `python file.py` would have it); a module is
imported by name (it must be importable in the workers too: installed, or on PYTHONPATH).
A file that starts searches itself must keep that code under `if __name__ == "__main__":`,
as multiprocessing requires, because workers load the file again.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from pathlib import Path

from nasbench_lab import NasbenchError


def is_reference(text: str) -> bool:
    """'x.py:Cls', 'dir/x.py:Cls' or 'pkg.mod:Cls' (a registered name has no ':')."""
    target, sep, cls = str(text).rpartition(":")
    return bool(sep and target and cls)


def _is_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or os.sep in target


def normalize(ref: str) -> str:
    """The reference with an absolute file path (so any process, any cwd, finds the file)."""
    target, _, cls = ref.rpartition(":")
    if _is_path(target):
        return f"{Path(target).expanduser().resolve()}:{cls}"
    return ref


def _module_name(path: Path) -> str:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    stem = re.sub(r"\W", "_", path.stem)
    return f"nasbench_lab_user_{stem}_{digest}"


def _load_file(ref: str, path: Path):
    if not path.is_file():
        raise NasbenchError(f"--strategy {ref!r}: file {path} not found")
    name = _module_name(path)
    mod = sys.modules.get(name)
    mtime = path.stat().st_mtime_ns
    if mod is not None and getattr(mod, "__nasbench_mtime__", None) == mtime:
        return mod
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    mod.__nasbench_mtime__ = mtime
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except SyntaxError as e:
        sys.modules.pop(name, None)
        raise NasbenchError(f"--strategy {ref!r}: {path.name} line {e.lineno}: SyntaxError: {e.msg}") from None
    except NasbenchError as e:
        sys.modules.pop(name, None)
        raise NasbenchError(f"--strategy {ref!r}: loading {path.name}: {e}") from None
    except Exception as e:  # noqa: BLE001 - any error of the user's file is one line
        sys.modules.pop(name, None)
        tb = e.__traceback__
        line = ""
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == str(path):
                line = f" (line {tb.tb_lineno})"
            tb = tb.tb_next
        raise NasbenchError(f"--strategy {ref!r}: loading {path.name} raised {type(e).__name__}: {e}{line}") from None
    return mod


def _import(ref: str, target: str):
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as e:
        if e.name and (target == e.name or target.startswith(e.name + ".")):
            raise NasbenchError(f"--strategy {ref!r}: no module named {target!r} (install it, add its folder to "
                                "PYTHONPATH, or give a file: path/to/file.py:ClassName)") from None
        raise NasbenchError(f"--strategy {ref!r}: importing {target} failed: no module named {e.name!r}") from None
    except Exception as e:  # noqa: BLE001
        raise NasbenchError(f"--strategy {ref!r}: importing {target} raised {type(e).__name__}: {e}") from None


def load_strategy_class(ref: str):
    """The Strategy subclass named by `ref`; every failure is a one-line NasbenchError."""
    from nasbench_lab.strategies.base import Strategy

    ref = str(ref)
    if not is_reference(ref):
        raise NasbenchError(f"--strategy {ref!r}: expected path/to/file.py:ClassName or package.module:ClassName")
    target, _, cls_name = ref.rpartition(":")
    mod = _load_file(ref, Path(target).expanduser().resolve()) if _is_path(target) else _import(ref, target)
    obj = mod
    for part in cls_name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            found = sorted(n for n, v in vars(mod).items() if inspect.isclass(v) and issubclass(v, Strategy)
                           and v is not Strategy and getattr(v, "__module__", None) == mod.__name__)
            raise NasbenchError(f"--strategy {ref!r}: {target} has no class {cls_name!r}; its Strategy classes: "
                                f"{', '.join(found) or '(none)'}")
    if not (inspect.isclass(obj) and issubclass(obj, Strategy)):
        what = f"a {type(obj).__name__}" if not inspect.isclass(obj) else "a class"
        raise NasbenchError(f"--strategy {ref!r}: {cls_name} is {what} but not a subclass of "
                            "nasbench_lab.strategies.Strategy")
    if obj is Strategy:
        raise NasbenchError(f"--strategy {ref!r}: Strategy is the abstract base class; name your subclass")
    return obj


def display_name(cls) -> str:
    """The name results are stored under: the class's `name`, else its class name."""
    return cls.name or cls.__name__


def reference_of(cls) -> str | None:
    """A reference other processes can resolve for a class defined outside nasbench_lab (None for
    the built-in strategies, and for a class with no file, e.g. typed into an interactive session)."""
    module = cls.__module__
    if module.startswith("nasbench_lab.strategies."):
        return None
    mod = sys.modules.get(module)
    path = getattr(mod, "__file__", None)
    if module == "__main__" or module.startswith("nasbench_lab_user_") or (path and not _importable(module)):
        return f"{Path(path).resolve()}:{cls.__qualname__}" if path else None
    return f"{module}:{cls.__qualname__}"


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
