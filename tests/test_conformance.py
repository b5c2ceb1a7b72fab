"""Every registered strategy x every conformance check (nasbench_lab.testing).

Registering a strategy enrols it here. A check a strategy declares in `expected_failures`
is marked xfail with its reason (strict: an unexpected pass is reported).
"""
from __future__ import annotations

import numpy as np
import pytest

from nasbench_lab.strategies import strategy_names
from nasbench_lab.strategies.base import Ask, Strategy
from nasbench_lab.strategies.random_search import RandomSearch
from nasbench_lab.testing import (CHECKS, CheckFailure, CheckSkipped, ConformanceError, check_strategy, checks,
                                  expected_failure)

_CHECKS = dict(checks())


def _cases():
    for name in strategy_names():
        for check_name in _CHECKS:
            reason = expected_failure(name, check_name)
            marks = [pytest.mark.xfail(reason=reason, strict=True, raises=CheckFailure)] if reason else []
            yield pytest.param(name, check_name, marks=marks, id=f"{name}-{check_name}")


@pytest.mark.parametrize("strategy,check_name", list(_cases()))
def test_conformance(strategy, check_name):
    try:
        _CHECKS[check_name](strategy)
    except CheckSkipped as e:
        pytest.skip(str(e))


# ----------------------------------------------------------------------- the suite itself


class Cheater(RandomSearch):
    """Reads a test metric from the observation. Parameters: dedup, max_tries."""

    name = "cheater"

    def tell(self, ask, obs):
        self.last_test = obs.test_acc  # noqa: the field does not exist: this must fail


class TableHoarder(RandomSearch):
    """Opens the benchmark table itself. Parameters: dedup, max_tries."""

    name = "hoarder"

    def ask(self):
        from nasbench_lab.tables import Table
        from nasbench_lab.testing import FIXTURES

        self.table = Table(FIXTURES.path("nb201"))
        return super().ask()


class GlobalRandom(Strategy):
    """Uses numpy's global random state. No parameters."""

    name = "global_random"

    def ask(self):
        return Ask(self.space.make(np.random.randint(0, self.space.n_options, self.space.n_decisions)))

    def tell(self, ask, obs):
        pass


class Forgetful(RandomSearch):
    """Declares an expected failure. Parameters: dedup, max_tries."""

    name = "forgetful"
    expected_failures = {"check_terminates_tiny_space": "demonstration only"}


class EndlessDedup(Strategy):
    """Loops forever looking for an unseen cell once the space is exhausted. No parameters."""

    name = "endless"
    deduplicates = True

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self.seen = set()

    def ask(self):
        while True:
            a = self.space.sample(self.rng)
            if self.space.canonical_key(a) not in self.seen:
                return Ask(a)

    def tell(self, ask, obs):
        self.seen.add(self.space.canonical_key(ask.arch))


def test_cheating_strategy_cannot_read_test_metrics():
    report = check_strategy(Cheater, only=["check_no_test_access"], raise_on_failure=False)
    (r,) = report.results
    assert r.status == "failed"
    assert "test_acc" in r.message and "tell() #1 raised AttributeError" in r.message


def test_strategy_opening_a_table_is_caught():
    report = check_strategy(TableHoarder, only=["check_no_test_access"], raise_on_failure=False)
    assert report.results[0].status == "failed"
    assert "Table.__init__" in report.results[0].message


def test_global_random_state_use_is_caught_with_a_friendly_message():
    report = check_strategy(GlobalRandom, only=["check_global_random_state"], raise_on_failure=False)
    assert report.results[0].status == "failed"
    assert "numpy's global random state" in report.results[0].message
    with pytest.raises(ConformanceError, match="FAIL  check_global_random_state"):
        check_strategy(GlobalRandom, only=["check_global_random_state"])


def test_endless_dedup_loop_is_reported_not_hung(monkeypatch):
    monkeypatch.setattr("nasbench_lab.testing.TINY_TIME_LIMIT", 2.0)
    report = check_strategy(EndlessDedup, only=["check_terminates_tiny_space"], raise_on_failure=False)
    assert report.results[0].status == "failed"
    assert "did not finish" in report.results[0].message and "return None" in report.results[0].message
    assert "within 2 s of wall time" in report.results[0].message  # the setting reaches the check's module


def test_expected_failure_is_reported_as_xfail_and_does_not_raise():
    report = check_strategy(Forgetful, only=["check_terminates_tiny_space", "check_parameters_documented"])
    assert report.ok
    statuses = {r.check: r.status for r in report.results}
    # random search terminates on the tiny space (by the budget), so the declared failure passes
    assert statuses == {"check_terminates_tiny_space": "xpass", "check_parameters_documented": "passed"}
    assert "XPASS" in str(report)


def test_unregistered_class_defined_in_a_test_module_runs_all_checks():
    report = check_strategy(RandomSearch, raise_on_failure=False)
    assert [r.check for r in report.results] == list(CHECKS)
    assert report.ok, str(report)


def test_undocumented_parameter_is_named():
    class Undocumented(RandomSearch):
        """No words about parameters here."""

        name = "undocumented"

    with pytest.raises(ConformanceError, match="'dedup', 'max_tries'.*not mentioned in its docstring"):
        check_strategy(Undocumented, only=["check_parameters_documented"])
