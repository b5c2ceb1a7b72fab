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
        with pytest.raises(NasbenchError, match="has no proxies; use a table built by the live backend"):
            run_search(t, "proxy_random", seed=0, budget=Budget(queries=3))


class _Counting:
    """Passes asks and answers through, counting ProxyAsks per (canonical key, proxy)."""

    def __init__(self, strat):
        self.strat, self.proxy_asks, self.trained = strat, [], []

    def ask(self):
        a = self.strat.ask()
        from nasbench_lab.strategies.proxy_asks import ProxyAsk

        if isinstance(a, ProxyAsk):
            self.proxy_asks.append((self.strat.space.canonical_key(a.arch), a.proxy))
        elif a is not None:
            self.trained.append(self.strat.space.canonical_key(a.arch))
        return a

    def tell(self, ask, obs):
        self.strat.tell(ask, obs)


def test_proxy_bananas_pays_each_proxy_once_per_cell_before_the_predictor_sees_it(synthetic_table):
    from nasbench_lab.runner import RunRecord, SearchView, run_loop
    from nasbench_lab.strategies import SearchContext, get_strategy

    view = SearchView(synthetic_table, None, None)
    ctx = SearchContext(space=synthetic_table.space, fidelities=view.search.recorded_epochs, max_queries=30)
    strat = get_strategy("proxy_bananas")(ctx, np.random.default_rng(0), num_init=5, batch=5, num_candidates=20)
    spy, rec = _Counting(strat), RunRecord(meta={"strategy": "proxy_bananas"})
    run_loop(spy, view, np.random.default_rng(1).random(synthetic_table.n_archs), Budget(queries=30), rec)
    assert rec.n_queries == 30 and strat.fits >= 4
    assert len(spy.proxy_asks) == len(set(spy.proxy_asks)) == rec.meta["proxy_queries"]
    scored = {k for k, _ in spy.proxy_asks}
    assert {p for _, p in spy.proxy_asks} == {"synflow", "naswot"} and len(scored) > 30  # candidates too
    assert set(spy.trained) <= scored
    # the predictor's input: the path encoding, then one normalised column per proxy
    X = strat._features([a for _, a in strat.archs])
    enc = strat._enc(strat.archs[0][1]).size
    assert X.shape == (len(strat.archs), enc + 2) and np.all((X[:, enc:] > 0) & (X[:, enc:] <= 1))


def test_proxy_bananas_rejects_bad_parameters(synthetic_table):
    from nasbench_lab.strategies import SearchContext, get_strategy

    ctx = SearchContext(space=synthetic_table.space, fidelities=(1,))
    cls = get_strategy("proxy_bananas")
    with pytest.raises(NasbenchError, match="normalise must be 'rank' or 'zscore'"):
        cls(ctx, np.random.default_rng(0), normalise="minmax")
    with pytest.raises(NasbenchError, match="proxies must be distinct proxy names"):
        cls(ctx, np.random.default_rng(0), proxies="synflow,synflow")


def test_params_and_flops_are_free_static_baselines(synthetic_table):
    """`proxy=params` (or flops) reads the table's static column: charged nothing, and the
    warm-up's best cells by it are trained first."""
    r = run_search(synthetic_table, "proxy_rea", seed=0, budget=Budget(queries=12),
                   params={"warmup": 60, "population": 5, "proxy": "params"})
    assert r.meta["proxy_queries"] == 60 and r.meta["proxy_seconds"] == 0.0
    assert r.time[0] == pytest.approx(r.cost[0])  # nothing charged before the first training
    params = synthetic_table.static("params")
    assert np.min(params[r.arch[:5]]) >= np.quantile(params, 0.5)
    r2 = run_search(synthetic_table, "proxy_random", seed=1, budget=Budget(queries=6),
                    params={"candidates": 3, "proxy": "params"})
    assert r2.meta["proxy_queries"] >= 18 and r2.meta["proxy_seconds"] == 0.0
    with pytest.raises(NasbenchError, match="static baseline 'flops', but table .* does not store it"):
        run_search(synthetic_table, "proxy_random", seed=1, budget=Budget(queries=2),
                   params={"proxy": "flops"})  # the synthetic table has params only


def test_a_static_baseline_the_table_lacks_is_one_line():
    with Table(builtin_tables()["nb201-cifar10-valid"]) as t:
        with pytest.raises(NasbenchError, match="static baseline 'params', but table .* does not store it"):
            run_search(t, "proxy_random", seed=0, budget=Budget(queries=3), params={"proxy": "params"})


def test_pruned_random_drawing_ahead_changes_no_run(synthetic_table, monkeypatch):
    """proxy_random draws its samples BLOCK at a time (self.rng feeds nothing else): the same
    runs, query for query, as drawing one sample per call."""
    from nasbench_lab.strategies.proxy_assisted import ProxyPrunedRandom

    def runs():
        return [run_search(synthetic_table, "proxy_random", seed=s, budget=Budget(queries=12),
                           params={"candidates": 5}) for s in range(3)]

    ahead = runs()
    monkeypatch.setattr(ProxyPrunedRandom, "draws_only_samples", False)
    plain = runs()
    for a, p in zip(ahead, plain):
        assert a.n_queries == p.n_queries == 12
        assert list(a.arch) == list(p.arch) and list(a.time) == list(p.time)
        assert a.meta["proxy_queries"] == p.meta["proxy_queries"]
