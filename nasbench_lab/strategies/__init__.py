"""Strategy registry: `register` enrols a strategy class (and so into the conformance suite)."""
from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.strategies.base import Ask, Observation, SearchContext, SeenKeys, Strategy, score

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
)
_OPTIONAL_MODULES = ("nasbench_lab.strategies.optuna_adapter",)  # modules that need an optional extra; skipped when it is missing
_loaded = False


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make `cls` available by `cls.name`."""
    if not cls.name:
        raise NasbenchError(f"{cls.__name__} must set a non-empty `name` to be registered")
    _REGISTRY[cls.name] = cls
    return cls


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
        except ImportError:
            pass


def strategy_names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def get_strategy(name: str) -> type[Strategy]:
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NasbenchError(
            f"unknown strategy {name!r}; valid: {', '.join(sorted(_REGISTRY))}") from None


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
           "strategy_names", "get_strategy", "parse_params", "make_strategy"]
