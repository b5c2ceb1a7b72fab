"""The budget and clock checks: exact query budgets, monotone clock and incumbent, ending on the exhausted tiny space."""
from __future__ import annotations

import numpy as np

from nasbench_lab.conformance import driver
from nasbench_lab.conformance.driver import _drive
from nasbench_lab.conformance.results import CheckFailure, CheckSkipped
from nasbench_lab.conformance.tables import FIXTURES, TINY


def check_query_budget_exact(cls, params=None) -> None:
    """A budget of Q queries gives exactly Q records (the space is far from exhausted)."""
    from nasbench_lab.runner import Budget

    q = 25
    t = _drive(cls, "nb201", budget=Budget(queries=q), params=params)
    if t.record.n_queries != q:
        raise CheckFailure(f"a budget of {q} queries gave {t.record.n_queries} records: ask() returned None "
                           f"after {t.record.n_queries} queries although NB201 has 15625 cells; return None "
                           "only when nothing is left to ask")



def check_time_monotone(cls, params=None) -> None:
    """Under a time budget the simulated clock never goes backwards, costs are >= 0, the
    budget is never exceeded, and the times the strategy is told match the record."""
    from nasbench_lab.runner import Budget

    budget = Budget(seconds=5000.0)
    t = _drive(cls, "nb201", budget=budget, params=params)
    times = t.record.time.tolist()
    if any(c < 0 for c in t.record.cost):
        raise CheckFailure(f"a query was charged a negative cost: {min(t.record.cost)}")
    for i in range(1, len(times)):
        if times[i] < times[i - 1]:
            raise CheckFailure(f"the simulated clock went backwards at query {i + 1}: "
                               f"{times[i - 1]} -> {times[i]}")
    if times and times[-1] > budget.seconds:
        raise CheckFailure(f"the clock ended at {times[-1]} s, past the budget of {budget.seconds} s")
    told = [o.time for o in t.spy.obs]
    if told != times:
        raise CheckFailure("the times in the observations told to the strategy differ from the record")


def check_incumbent_monotone(cls, params=None) -> None:
    """The incumbent (best observed validation accuracy so far) never gets worse, and is an
    architecture that was actually queried."""
    from nasbench_lab.runner import Budget

    t = _drive(cls, "nb201_nan", budget=Budget(queries=driver.N_QUERIES), params=params)
    r = t.record
    best = float("-inf")
    for i, (inc, v) in enumerate(zip(r.incumbent, r.valid)):
        s = float("-inf") if v != v else v
        best = max(best, s)
        if inc not in r.arch[:i + 1]:
            raise CheckFailure(f"after query {i + 1} the incumbent {inc} was never queried")
        inc_obs = max((float("-inf") if vv != vv else vv) for a, vv in zip(r.arch[:i + 1], r.valid[:i + 1])
                      if a == inc)
        if inc_obs < best:
            raise CheckFailure(f"after query {i + 1} the incumbent's observed validation accuracy "
                               f"{inc_obs} is below the best observed {best}: the incumbent got worse")



def _tiny_budget():
    from nasbench_lab.runner import Budget

    view = FIXTURES.view("tiny")
    full = float(np.nanmax(view.metrics["train_time"][:, :, -1] + view.metrics["valid_time"][:, :, -1], axis=1).sum())
    return Budget(seconds=3 * full, queries=5000)


def check_terminates_tiny_space(cls, params=None) -> None:
    """On a space of 8 cells (6 distinct) with a budget 3 times what training everything
    costs, the run ends (by ask() returning None or by the budget) without error or hang."""
    budget = _tiny_budget()
    t = _drive(cls, "tiny", budget=budget, params=params, time_limit=driver.TINY_TIME_LIMIT)
    if t.record.n_queries >= budget.queries:
        raise CheckFailure(f"on a space of {TINY.size} cells the strategy made {budget.queries} queries without "
                           "the run ending; return None from ask() when nothing is left")


def check_no_duplicate_payment(cls, params=None) -> None:
    """For strategies that declare `deduplicates = True`: on the tiny space, no canonical key
    is paid for twice (one architecture per key, never twice at the same epoch), every key
    gets queried, and ask() returns None once the space is exhausted."""
    if not getattr(cls, "deduplicates", False):
        raise CheckSkipped("the strategy does not declare `deduplicates = True`")
    t = _drive(cls, "tiny", budget=_tiny_budget(), params=params, time_limit=driver.TINY_TIME_LIMIT)
    space = t.view.table.space
    by_key: dict = {}
    seen_pairs: set = set()
    for i, (idx, ep) in enumerate(zip(t.record.arch, t.record.epoch)):
        arch = space.from_index(idx)
        k = space.canonical_key(arch)
        first = by_key.setdefault(k, idx)
        if first != idx:
            raise CheckFailure(f"query {i + 1} paid for {space.to_string(arch)}, which computes the same function "
                               f"(canonical key {k!r}) as the already queried {space.to_string(space.from_index(first))}")
        if (idx, ep) in seen_pairs:
            raise CheckFailure(f"query {i + 1} asked again for {space.to_string(arch)} at epoch {ep}, already "
                               "observed: reuse the earlier observation instead of paying again")
        seen_pairs.add((idx, ep))
    all_keys = {space.canonical_key(a) for a in space.all_archs()}
    if not t.spy.returned_none:
        raise CheckFailure(f"the run on the tiny space ended by the budget after {t.record.n_queries} queries; "
                           f"ask() should return None once all {len(all_keys)} distinct cells were queried")
    if set(by_key) != all_keys:
        raise CheckFailure(f"ask() returned None after querying {len(by_key)} of the {len(all_keys)} distinct "
                           f"cells; return None only when every canonical key has been queried "
                           f"(missing: {sorted(all_keys - set(by_key))})")
