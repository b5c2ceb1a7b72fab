"""The conformance suite every strategy must pass (in the spirit of scikit-learn's estimator
checks and Optuna's shared sampler tests).

Registering a strategy (`@register`) enrols it: `tests/test_conformance.py` runs every
check (in nasbench_lab/conformance/, one module per group of checks) on every registered
strategy. A strategy that is known to fail a check declares it in
`expected_failures = {"check_name": "reason"}`; the check is then reported as an expected
failure rather than an error.

    from nasbench_lab.testing import check_strategy
    report = check_strategy(MyStrategy)            # raises ConformanceError on failure
    report = check_strategy("rea", raise_on_failure=False)
    print(report)

The checks run on small fixture tables built once per process in a temporary folder: a
synthetic NB201 table with 12 recorded epochs, a single-fidelity one with failed (NaN)
trainings, and a table over a tiny search space (3 binary decisions, 8 cells, 6 distinct
canonical keys) where deduplicating strategies must run out of cells and stop.
"""
from __future__ import annotations

import sys
import types

from nasbench_lab.conformance import access as _access
from nasbench_lab.conformance import driver as _driver
from nasbench_lab.conformance.access import _find_forbidden, _forbidden_types, _tables_sealed, check_no_test_access
from nasbench_lab.conformance.budget import (_tiny_budget, check_incumbent_monotone, check_no_duplicate_payment,
                                             check_query_budget_exact, check_terminates_tiny_space,
                                             check_time_monotone)
from nasbench_lab.conformance.determinism import (_subprocess_trajectory, check_global_random_state,
                                                  check_pickle_resume, check_reproducible,
                                                  check_reproducible_subprocess)
from nasbench_lab.conformance.driver import (_RNG_HINT, TimeLimit, _continue, _drive, _first_difference, _label,
                                             _Spy, _start, _Trace, _validate_ask, deadline)
from nasbench_lab.conformance.protocol import (check_ask_valid, check_nan_observations, check_parameters_documented,
                                               check_single_fidelity)
from nasbench_lab.conformance.results import (CheckFailure, CheckResult, CheckSkipped, ConformanceError,
                                              ConformanceReport)
from nasbench_lab.conformance.suite import (CHECKS, _resolve, check_all_registered, check_strategy, checks,
                                            expected_failure)
from nasbench_lab.conformance.tables import FIXTURES, TINY, TINY_EPOCHS, TinySpace, _Fixtures, make_tiny_table
from nasbench_lab.conformance.vector import check_vector_observations


def _live(home, name: str) -> property:
    return property(lambda self: getattr(home, name), lambda self, value: setattr(home, name, value))


class _Testing(types.ModuleType):
    """This module, whose settings are those the checks read: `testing.TINY_TIME_LIMIT = 5.0` (or
    monkeypatching testing.N_QUERIES) changes the runs of the checks in nasbench_lab/conformance/."""

    N_QUERIES = _live(_driver, "N_QUERIES")
    TINY_TIME_LIMIT = _live(_driver, "TINY_TIME_LIMIT")
    _FORBIDDEN_TYPES = _live(_access, "_FORBIDDEN_TYPES")


sys.modules[__name__].__class__ = _Testing

__all__ = ["CHECKS", "CheckFailure", "CheckSkipped", "CheckResult", "ConformanceError", "ConformanceReport",
           "TINY", "TinySpace", "make_tiny_table", "check_strategy", "check_all_registered", "checks",
           "expected_failure", "FIXTURES"]
