"""One-shot (weight-sharing) NAS on the live NB201 supernet (`nasbench_lab.live.supernet`).

    from nasbench_lab.strategies.oneshot import run_oneshot
    res = run_oneshot("darts-v1", seed=0, epochs=10)     # BUILTIN_PROTOCOL by default
    res.arch, res.search_seconds, res.alpha[-1]

Methods (one module each; hyperparameters documented there): darts-v1, darts-v2 (darts.py),
gdas (gdas.py), rsps and setn (sampling.py). Unlike the multi-trial strategies they train
one supernet for real instead of querying a table; the table only scores the derived cell.
"""
from __future__ import annotations

from nasbench_lab import NasbenchError
from nasbench_lab.live.protocol import BUILTIN_PROTOCOL, Protocol
from nasbench_lab.strategies.oneshot.base import OneShotMethod, OneShotResult
from nasbench_lab.strategies.oneshot.darts import DARTS, DARTSSecondOrder
from nasbench_lab.strategies.oneshot.gdas import GDAS
from nasbench_lab.strategies.oneshot.sampling import RSPS, SETN

METHODS: dict[str, type[OneShotMethod]] = {}


def register(cls: type[OneShotMethod]) -> type[OneShotMethod]:
    if not cls.name:
        raise NasbenchError(f"{cls.__name__} must set a non-empty `name` to be registered")
    METHODS[cls.name] = cls
    return cls


for _cls in (DARTS, DARTSSecondOrder, GDAS, RSPS, SETN):
    register(_cls)


def get_method(name: str) -> type[OneShotMethod]:
    try:
        return METHODS[name]
    except KeyError:
        raise NasbenchError(f"unknown one-shot method {name!r}; methods: {', '.join(METHODS)}") from None


def run_oneshot(name: str, protocol: Protocol = BUILTIN_PROTOCOL, seed: int = 0, progress=None,
                **params) -> OneShotResult:
    """Run one seeded search of method `name` and return its result."""
    return get_method(name)(protocol, seed, **params).run(progress)


__all__ = ["METHODS", "OneShotMethod", "OneShotResult", "get_method", "register", "run_oneshot"]
