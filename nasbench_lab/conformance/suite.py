"""The suite itself: the ordered registry of checks and check_strategy, which runs them into a report."""
from __future__ import annotations

import inspect
from typing import Callable, Iterator

from nasbench_lab.conformance.access import check_no_test_access
from nasbench_lab.conformance.budget import (check_incumbent_monotone, check_no_duplicate_payment,
                                             check_query_budget_exact, check_terminates_tiny_space,
                                             check_time_monotone)
from nasbench_lab.conformance.determinism import (check_global_random_state, check_pickle_resume,
                                                  check_reproducible, check_reproducible_subprocess)
from nasbench_lab.conformance.protocol import (check_ask_valid, check_nan_observations, check_parameters_documented,
                                               check_single_fidelity)
from nasbench_lab.conformance.results import (CheckFailure, CheckResult, CheckSkipped, ConformanceError,
                                              ConformanceReport)
from nasbench_lab.conformance.vector import check_vector_observations
from nasbench_lab.strategies import Strategy, get_strategy, strategy_names


def _resolve(strategy) -> type[Strategy]:
    if isinstance(strategy, str):
        return get_strategy(strategy)
    if inspect.isclass(strategy) and issubclass(strategy, Strategy):
        return strategy
    raise TypeError(f"check_strategy needs a registered strategy name or a Strategy subclass, got {strategy!r}")


CHECKS: dict[str, Callable] = {
    "check_parameters_documented": check_parameters_documented,
    "check_ask_valid": check_ask_valid,
    "check_query_budget_exact": check_query_budget_exact,
    "check_reproducible": check_reproducible,
    "check_reproducible_subprocess": check_reproducible_subprocess,
    "check_global_random_state": check_global_random_state,
    "check_time_monotone": check_time_monotone,
    "check_incumbent_monotone": check_incumbent_monotone,
    "check_nan_observations": check_nan_observations,
    "check_single_fidelity": check_single_fidelity,
    "check_terminates_tiny_space": check_terminates_tiny_space,
    "check_no_duplicate_payment": check_no_duplicate_payment,
    "check_no_test_access": check_no_test_access,
    "check_pickle_resume": check_pickle_resume,
    "check_vector_observations": check_vector_observations,
}


def checks() -> Iterator[tuple[str, Callable]]:
    """(check name, callable(strategy name or class, params=None)) for every check, in order.
    The callable raises CheckFailure (an AssertionError) with a specific message, or
    CheckSkipped when the check does not apply."""
    for name, fn in CHECKS.items():
        def run(strategy, params=None, _fn=fn):
            _fn(_resolve(strategy), params)
        run.__name__ = name
        run.__doc__ = fn.__doc__
        yield name, run


def expected_failure(strategy, check_name: str) -> str | None:
    """The reason a strategy declares for failing `check_name`, or None."""
    return _resolve(strategy).expected_failures.get(check_name)


def check_strategy(strategy, *, params: dict | None = None, only=None, raise_on_failure: bool = True
                   ) -> ConformanceReport:
    """Run the conformance checks on a strategy (a registered name or a Strategy subclass,
    registered or not) and return a readable report; raise ConformanceError (whose message is
    the report) when a check fails that the strategy does not list in `expected_failures`."""
    cls = _resolve(strategy)
    report = ConformanceReport(cls.name or cls.__name__)
    xfail = cls.expected_failures if isinstance(cls.expected_failures, dict) else {}
    for name, fn in CHECKS.items():
        if only is not None and name not in only:
            continue
        try:
            fn(cls, params)
        except CheckSkipped as e:
            report.results.append(CheckResult(name, "skipped", str(e)))
        except Exception as e:  # CheckFailure, or a bug surfacing as anything else
            msg = str(e) if isinstance(e, CheckFailure) else f"{type(e).__name__}: {e}"
            if name in xfail:
                report.results.append(CheckResult(name, "xfail", f"expected: {xfail[name]}\n{msg}"))
            else:
                report.results.append(CheckResult(name, "failed", msg))
        else:
            if name in xfail:
                report.results.append(CheckResult(name, "xpass", f"declared as expected failure "
                                                  f"({xfail[name]}) but it passed"))
            else:
                report.results.append(CheckResult(name, "passed"))
    if raise_on_failure and not report.ok:
        raise ConformanceError(report)
    return report


def check_all_registered(**kw) -> dict[str, ConformanceReport]:
    return {name: check_strategy(name, raise_on_failure=False, **kw) for name in strategy_names()}
