"""The ask/tell protocol checks: parameters and docs, valid asks, NaN observations, a single fidelity."""
from __future__ import annotations

import inspect

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.conformance import driver
from nasbench_lab.conformance.driver import _drive
from nasbench_lab.conformance.results import CheckFailure, CheckSkipped
from nasbench_lab.spaces import get_space
from nasbench_lab.strategies import SearchContext


def check_parameters_documented(cls, params=None) -> None:
    """`name`, `defaults` (every parameter documented in the docstring), construction with the
    defaults, rejection of unknown parameters, well-formed `expected_failures`."""
    if not isinstance(cls.name, str) or not cls.name:
        raise CheckFailure(f"{cls.__qualname__} must set a class attribute `name = \"...\"` (non-empty)")
    if not isinstance(cls.defaults, dict) or not all(isinstance(k, str) for k in cls.defaults):
        raise CheckFailure(f"{cls.__qualname__}.defaults must be a dict of parameter name -> default value")
    doc = inspect.getdoc(cls) or ""
    missing = [k for k in cls.defaults if k not in doc]
    if missing:
        raise CheckFailure(f"parameter(s) {', '.join(map(repr, missing))} of {cls.__qualname__} are not "
                           "mentioned in its docstring: document every parameter and its default")
    if not isinstance(cls.expected_failures, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in cls.expected_failures.items()):
        raise CheckFailure("expected_failures must map a check name to a non-empty reason string")
    from nasbench_lab.conformance.suite import CHECKS

    unknown = sorted(set(cls.expected_failures) - set(CHECKS))
    if unknown:
        raise CheckFailure(f"expected_failures names unknown check(s) {', '.join(unknown)}; "
                           f"valid: {', '.join(CHECKS)}")
    ctx = SearchContext(space=get_space("nb201"), fidelities=(1, 2, 3))
    try:
        s = cls(ctx, np.random.default_rng(0), **(params or {}))
    except Exception as e:
        raise CheckFailure(f"{cls.__qualname__}(context, rng) with default parameters raised "
                           f"{type(e).__name__}: {e}") from e
    try:
        cls(ctx, np.random.default_rng(0), no_such_parameter_xyz=1)
    except NasbenchError:
        pass
    except Exception as e:
        raise CheckFailure(f"an unknown parameter should raise NasbenchError (Strategy.__init__ does "
                           f"this: call super().__init__(context, rng, **params)); got "
                           f"{type(e).__name__}: {e}") from e
    else:
        raise CheckFailure("an unknown parameter was accepted silently; pass **params to "
                           "super().__init__(context, rng, **params), which rejects it")
    if getattr(s, "params", None) is None or set(s.params) != set(cls.defaults):
        raise CheckFailure("self.params must hold every parameter (defaults merged with overrides); "
                           "call super().__init__(context, rng, **params)")


def check_ask_valid(cls, params=None) -> None:
    """Every ask, the first one (before any tell) and all later ones, returns an Ask with a valid
    architecture of the search space and an epoch the schedule records (or None)."""
    from nasbench_lab.runner import Budget

    t = _drive(cls, "nb201", budget=Budget(queries=driver.N_QUERIES), params=params)
    if not t.spy.asks:
        raise CheckFailure("the first ask() returned None on a fresh NB201 search: a strategy should "
                           "ask for something before it has seen any observation")



def check_nan_observations(cls, params=None) -> None:
    """Failed trainings (NaN validation accuracy and losses) are told without crashing, and
    the strategy keeps asking valid queries afterwards."""
    from nasbench_lab.runner import Budget

    t = _drive(cls, "nb201_nan", budget=Budget(queries=driver.N_QUERIES), params=params)
    n_nan = sum(1 for o in t.spy.obs if o.valid_acc != o.valid_acc)
    if n_nan == 0:
        raise CheckSkipped("no NaN observation came up in this run (fixture too lucky)")
    if t.record.n_queries < driver.N_QUERIES:
        raise CheckFailure(f"after {n_nan} NaN observations the strategy stopped asking at query "
                           f"{t.record.n_queries} of {driver.N_QUERIES}; treat NaN as the worst score")


def check_single_fidelity(cls, params=None) -> None:
    """On a schedule that records one epoch only (NAS-Bench-201's "12"), the strategy runs and
    asks only for that epoch."""
    from nasbench_lab.runner import Budget

    t = _drive(cls, "nb201_single", budget=Budget(queries=driver.N_QUERIES), params=params)
    if t.record.n_queries != driver.N_QUERIES:
        raise CheckFailure(f"with a single fidelity the strategy stopped after {t.record.n_queries} of "
                           f"{driver.N_QUERIES} queries; a multi-fidelity method must still work with one epoch")
