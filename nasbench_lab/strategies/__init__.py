"""Strategy registry: `register` enrols a strategy class (and so into the conformance suite)."""
from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.strategies.base import Ask, Observation, SearchContext, SeenKeys, Strategy, score
from nasbench_lab.strategies.loader import display_name, is_reference, load_strategy_class, reference_of

_REGISTRY: dict[str, type[Strategy]] = {}

# modules whose import registers built-in strategies; add new modules here
_BUILTIN_MODULES = (
    "nasbench_lab.strategies.random_search",
    "nasbench_lab.strategies.evolution",
    "nasbench_lab.strategies.reinforce",
    "nasbench_lab.strategies.local_search",
    "nasbench_lab.strategies.bananas",
    "nasbench_lab.strategies.gradient_surrogate",
    "nasbench_lab.strategies.hyperband",
    "nasbench_lab.strategies.nsga2",
    "nasbench_lab.strategies.scalarised_rea",
    "nasbench_lab.strategies.proxy_assisted",
    "nasbench_lab.strategies.proxy_bananas",
)
_OPTIONAL_MODULES = ("nasbench_lab.strategies.optuna_adapter",)  # modules that need an optional extra; skipped when it is missing
_OPTIONAL_NAMES = {"nasbench_lab.strategies.optuna_adapter": ("optuna", "optuna")}  # module -> (strategy, extra)
_OPTIONAL_MISSING: dict[str, str] = {}  # strategy name -> why it is not available
ENTRY_POINT_GROUP = "nasbench_lab.strategies"  # an installed package adds strategies here
_PLUGIN_ERRORS: dict[str, str] = {}  # entry-point name -> why it could not be loaded
_loaded = False
_entry_points_loaded = False


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make `cls` available by `cls.name`. The name of a built-in strategy is
    refused to any other class, so a user's class cannot silently replace a built-in."""
    if not cls.name:
        raise NasbenchError(f"{cls.__name__} must set a non-empty `name` to be registered")
    old = _REGISTRY.get(cls.name)
    if old is not None and old.__module__.startswith("nasbench_lab.") and \
            (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise NasbenchError(f"cannot register {cls.__qualname__} as strategy {cls.name!r}: that name belongs to "
                            f"{old.__module__}.{old.__qualname__}; give the class another `name`")
    _REGISTRY[cls.name] = cls
    return cls


def _load_entry_points() -> None:
    """Strategies of installed packages: entry points of group nasbench_lab.strategies, each a
    Strategy subclass (`name = "package.module:ClassName"`); a broken one is reported when asked for."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Strategy)):
                raise NasbenchError(f"{ep.value} is not a Strategy subclass")
            if not cls.name:
                cls.name = ep.name
            if _REGISTRY.get(cls.name) is not cls:
                register(cls)
        except Exception as e:  # noqa: BLE001 - one broken plugin must not break the others
            _PLUGIN_ERRORS[ep.name] = f"{type(e).__name__}: {e}"


def _load_builtins() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in _BUILTIN_MODULES:
        importlib.import_module(mod)
    for mod in _OPTIONAL_MODULES:
        try:
            importlib.import_module(mod)
        except ImportError as e:
            name, extra = _OPTIONAL_NAMES.get(mod, (mod.rsplit(".", 1)[-1], mod.rsplit(".", 1)[-1]))
            _OPTIONAL_MISSING[name] = (f"strategy {name!r} needs the optional package {e.name or extra!r}, which is "
                                       f"not installed: pip install 'nasbench_lab[{extra}]'")


def _load_all() -> None:
    """Built-ins, then installed packages' entry points (scanning those takes ~50 ms, so a
    built-in name asked for by get_strategy does not wait for it: entry points cannot take it)."""
    global _entry_points_loaded
    _load_builtins()
    if not _entry_points_loaded:
        _entry_points_loaded = True
        _load_entry_points()


def strategy_names() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def get_strategy(name: str) -> type[Strategy]:
    """A registered strategy by name, or a class by reference: 'path/to/file.py:ClassName' or
    'package.module:ClassName' (see loader.py; one-line errors for a missing file, module or
    class, or a class that is not a Strategy)."""
    _load_builtins()
    if name in _REGISTRY:
        return _REGISTRY[name]
    _load_all()
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in _OPTIONAL_MISSING:
        raise NasbenchError(_OPTIONAL_MISSING[name])
    if name in _PLUGIN_ERRORS:
        raise NasbenchError(f"strategy {name!r} (entry point of group {ENTRY_POINT_GROUP}) could not be loaded: "
                            f"{_PLUGIN_ERRORS[name]}")
    if is_reference(name):
        return load_strategy_class(name)
    raise NasbenchError(f"unknown strategy {name!r}; valid: {', '.join(sorted(_REGISTRY))}, or your own class as "
                        "path/to/file.py:ClassName or package.module:ClassName")


def parse_params(cls: type[Strategy], pairs: list[str]) -> dict[str, Any]:
    """Turn ['k=v', ...] into typed parameters, using the type of each default."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise NasbenchError(f"parameter {pair!r} must look like key=value")
        k, v = pair.split("=", 1)
        if k not in cls.defaults:
            raise NasbenchError(
                f"strategy {cls.name!r} has no parameter {k!r}; valid: "
                + (", ".join(f"{n}={d!r}" for n, d in cls.defaults.items()) or "(none)"))
        default = cls.defaults[k]
        try:
            if isinstance(default, bool):
                if v.lower() not in ("true", "false", "1", "0"):
                    raise ValueError
                out[k] = v.lower() in ("true", "1")
            elif isinstance(default, int):
                out[k] = int(v)
            elif isinstance(default, float):
                out[k] = float(v)
            else:
                out[k] = v
        except ValueError:
            raise NasbenchError(
                f"parameter {k}={v!r} of strategy {cls.name!r} must be a {type(default).__name__}") from None
    return out


def make_strategy(name: str, context: SearchContext, rng: np.random.Generator,
                  params: dict[str, Any] | None = None) -> Strategy:
    return get_strategy(name)(context, rng, **(params or {}))


__all__ = ["Ask", "Observation", "SearchContext", "SeenKeys", "Strategy", "score", "register",
           "strategy_names", "get_strategy", "parse_params", "make_strategy", "display_name", "reference_of"]
