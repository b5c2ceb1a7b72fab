"""An explicit simulated clock for NATS-Bench-style search loops.

NATS-Bench's `simulate_train_eval` charges a clock hidden inside the API object: it keeps
running across searches until `reset_time()` is called, `get_more_info` never charges it,
and the usual loop (`while total_time < budget: ... = api.simulate_train_eval(...)`) checks
the budget before the query, so the last query of every run overshoots the budget. Passing
`clock=SimulatedClock(budget=...)` to `simulate_train_eval` makes the clock a value of the
caller's (one per run, nothing shared) and applies this project's protocol (design.md
section 3): a query that would exceed the budget is not made, not scored and not charged;
`BudgetExhausted` is raised instead.
"""
from __future__ import annotations

import math

from nasbench_lab import NasbenchError


class BudgetExhausted(NasbenchError):
    """The query would exceed the clock's budget; it was not made and not charged."""


class SimulatedClock:
    """Simulated seconds spent by one search, with an optional budget."""

    def __init__(self, budget: float | None = None):
        if budget is not None and not (float(budget) > 0 and math.isfinite(float(budget))):
            raise NasbenchError(f"SimulatedClock budget must be a positive number of seconds, got {budget!r}")
        self.budget = None if budget is None else float(budget)
        self.used = 0.0
        self.queries = 0

    @property
    def remaining(self) -> float:
        return math.inf if self.budget is None else self.budget - self.used

    def can_afford(self, seconds: float) -> bool:
        return self.budget is None or self.used + float(seconds) <= self.budget

    def charge(self, seconds: float) -> float:
        """Add `seconds`; returns the total. Over the budget: raise, charge nothing."""
        seconds = float(seconds)
        if not math.isfinite(seconds) or seconds < 0:
            raise NasbenchError(f"cannot charge {seconds!r} seconds to a clock")
        if not self.can_afford(seconds):
            raise BudgetExhausted(f"this query costs {seconds:.1f} s but only {self.remaining:.1f} s of "
                                  f"the {self.budget:g} s budget are left; it was not made")
        self.used += seconds
        self.queries += 1
        return self.used

    def reset(self) -> None:
        self.used = 0.0
        self.queries = 0

    def __repr__(self) -> str:
        b = "no budget" if self.budget is None else f"budget {self.budget:g} s"
        return f"SimulatedClock(used={self.used:.1f} s, {self.queries} queries, {b})"
