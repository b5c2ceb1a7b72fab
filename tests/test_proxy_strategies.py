"""Proxy-assisted strategies: proxies answered from the table and charged on the simulated clock."""
import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.runner import Budget, run_search
from nasbench_lab.tables import builtin_tables
from nasbench_lab.tables.table import Table


def test_warmup_is_charged_before_the_first_training(synthetic_table):
    r = run_search(synthetic_table, "proxy_rea", seed=0, budget=Budget(queries=15),
                   params={"warmup": 50, "population": 5})
    assert r.meta["proxy_queries"] == 50 and r.n_queries == 15
    ps = synthetic_table.proxies()
    assert 50 * ps.seconds.min() <= r.meta["proxy_seconds"] <= 50 * ps.seconds.max()
    assert r.time[0] == pytest.approx(r.meta["proxy_seconds"] + r.cost[0])
    # the first population is the best-scored warm-up cells: their synflow is high
    syn = ps.mean("synflow")
    assert np.mean(syn[r.arch[:5]]) > np.quantile(syn, 0.8)


def test_pruned_random_scores_candidates_per_training(synthetic_table):
    r = run_search(synthetic_table, "proxy_random", seed=1, budget=Budget(queries=8),
                   params={"candidates": 4, "proxy": "snip"})
    assert r.meta["proxy_queries"] in (8 * 4, 9 * 4)  # the last round may be scored before the budget ends
    assert np.all(np.diff(r.time) > 0)


def test_a_time_budget_stops_at_a_proxy(synthetic_table):
    ps = synthetic_table.proxies()
    r = run_search(synthetic_table, "proxy_rea", seed=0, budget=Budget(seconds=10 * float(ps.seconds.min())),
                   params={"warmup": 1000})
    assert r.n_queries == 0 and r.meta["proxy_seconds"] <= 10 * float(ps.seconds.min())


def test_a_table_without_proxies_is_one_line():
    with Table(builtin_tables()["nb201-cifar10-valid"]) as t:
        with pytest.raises(NasbenchError, match="has no proxies: compute them with `nasbench-lab proxies"):
            run_search(t, "proxy_random", seed=0, budget=Budget(queries=3))
