"""The runner's fast path (runner.run_loop) against a plain reference loop (below, the loop as it
was before the fast path: space.check, space.to_index, seed column via flatnonzero, numpy
scalar reads, one Observation scored by strategies.base.score): identical trajectories for
every registered strategy, on a multi-fidelity table, a reduced space and NB201 itself."""
import math

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.runner import Budget, RunRecord, SearchView, run_loop
from nasbench_lab.spaces import Arch
from nasbench_lab.strategies import SearchContext, get_strategy, strategy_names
from nasbench_lab.strategies.base import Ask, Observation, score
from nasbench_lab.strategies.proxy_asks import ProxyAsk, ProxyObservation


def reference_loop(strat, view, noise_u, budget, meta):
    space = view.table.space
    m = view.metrics
    trained = {}
    cols = {k: [] for k in ("time", "arch", "epoch", "cost", "valid", "incumbent", "incumbent_valid",
                            "incumbent_test")}
    clock, best = 0.0, (float("-inf"), -1)
    while budget.queries is None or len(cols["time"]) < budget.queries:
        ask = strat.ask()
        if ask is None:
            break
        if isinstance(ask, ProxyAsk):  # no training: the proxy's CPU seconds on the clock (proxy_asks.py)
            ps = view.table.proxies()
            pidx = space.to_index(space.check(ask.arch))
            have = np.flatnonzero(ps.present[pidx])
            c = int(have[min(int(noise_u[pidx] * have.size), have.size - 1)])
            j = ps.names.index(ask.proxy)
            pcost = float(ps.seconds[pidx, c, j])
            if budget.seconds is not None and clock + pcost > budget.seconds:
                break
            clock += pcost
            strat.tell(ask, ProxyObservation(ask.arch, ask.proxy, float(ps.scores[pidx, c, j]), pcost, clock))
            continue
        arch = space.check(ask.arch)
        idx = space.to_index(arch)
        ei = view.search.epoch_index(ask.epoch)
        col, prev = trained.get(idx, (None, -1))
        if col is None:
            col = view.seed_column(idx, noise_u[idx])
        tt = m["train_time"][idx, col]
        train_cost = float(tt[ei]) - (float(tt[prev]) if prev >= 0 else 0.0)
        cost = max(train_cost, 0.0) + float(m["valid_time"][idx, col, ei])
        if cost != cost:
            cost = 0.0
        if budget.seconds is not None and clock + cost > budget.seconds:
            break
        clock += cost
        trained[idx] = (col, max(prev, ei))
        epoch = view.search.recorded_epochs[ei]
        obs = Observation(arch=arch, epoch=epoch, valid_acc=float(m["valid_acc"][idx, col, ei]),
                          valid_loss=float(m["valid_loss"][idx, col, ei]),
                          train_acc=float(m["train_acc"][idx, col, ei]),
                          train_loss=float(m["train_loss"][idx, col, ei]), cost=cost, time=clock)
        s = score(obs)
        if s > best[0] or best[1] < 0:
            best = (s, idx)
        for k, v in (("time", clock), ("arch", idx), ("epoch", epoch), ("cost", cost),
                     ("valid", obs.valid_acc), ("incumbent", best[1]),
                     ("incumbent_valid", float(view.report_valid[best[1]])),
                     ("incumbent_test", float(view.report_test[best[1]]))):
            cols[k].append(v)
        strat.tell(ask, obs)
    return RunRecord(meta=meta, **cols)


class Rebuilt:
    """Hands the runner architectures it did not make (equal values, other objects): the slow path."""

    def __init__(self, strat):
        self.strat = strat

    def ask(self):
        a = self.strat.ask()
        if a is None:
            return None
        arch = Arch(a.arch.space, tuple(a.arch.choices))
        return ProxyAsk(arch, a.epoch, proxy=a.proxy) if isinstance(a, ProxyAsk) else Ask(arch, a.epoch)

    def tell(self, ask, obs):
        self.strat.tell(ask, obs)


def _same(a: RunRecord, b: RunRecord):
    for k in ("time", "arch", "epoch", "cost", "valid", "incumbent", "incumbent_valid", "incumbent_test"):
        x, y = getattr(a, k).tolist(), getattr(b, k).tolist()
        assert len(x) == len(y), k
        assert all(p == q or (isinstance(p, float) and math.isnan(p) and math.isnan(q)) for p, q in zip(x, y)), k


def _both(cls, view, budget, run, wrap=None):
    ss, ns = np.random.SeedSequence([7, run]).spawn(2)
    noise = np.random.default_rng(ns).random(view.table.n_archs)
    ctx = SearchContext(space=view.table.space, fidelities=view.search.recorded_epochs,
                        max_queries=budget.queries, max_seconds=budget.seconds)
    fast, ref = (cls(ctx, np.random.default_rng(ss)) for _ in range(2))
    rec = RunRecord(meta={"strategy": cls.name})
    run_loop(wrap(fast) if wrap else fast, view, noise, budget, rec)
    return rec, reference_loop(ref, view, noise, budget, {"strategy": cls.name})


@pytest.fixture(scope="module")
def views(synthetic_table, nb201_table):
    from nasbench_lab.tables.table import open_table

    return {"synthetic": SearchView(synthetic_table, None, None),
            "3ops": SearchView(open_table("nb201-3ops-small"), None, None),
            "nb201": SearchView(nb201_table, "12", "200")}


@pytest.mark.parametrize("name", strategy_names())
def test_fast_path_equals_reference_loop(views, name):
    cls = get_strategy(name)
    for vname, budget in (("synthetic", Budget(seconds=3000)), ("3ops", Budget(queries=40)),
                          ("nb201", Budget(seconds=4000))):
        if name.startswith("proxy_") and views[vname].table.proxies() is None:
            continue  # proxy-assisted strategies need a table with zero-cost proxies (NB201's CIFAR has none)
        for run in (0, 1):
            fast, ref = _both(cls, views[vname], budget, run)
            assert fast.n_queries > 3, (vname, run)
            _same(fast, ref)
    fast, ref = _both(cls, views["synthetic"], Budget(queries=30), 2, wrap=Rebuilt)
    _same(fast, ref)


def test_slow_path_still_validates(views):
    view = views["synthetic"]

    class Bad:
        def __init__(self, ask):
            self.a = ask

        def ask(self):
            return self.a

        def tell(self, ask, obs):
            pass

    noise = np.zeros(view.table.n_archs)
    for ask, match in ((Ask(Arch("nb201", (0, 1, 2, 3, 4, 9))), "expected 6 choices"),
                       (Ask(Arch("nb101", (0,) * 26)), "not an architecture of this space"),
                       (Ask(view.table.space.from_index(3), epoch=99), "epoch 99 is not recorded")):
        with pytest.raises(NasbenchError, match=match):
            run_loop(Bad(ask), view, noise, Budget(queries=3), RunRecord(meta={"strategy": "bad"}))


def test_random_search_drawing_ahead_changes_no_trajectory(views):
    """RandomSearch draws its samples 64 at a time (space.sample_many); a subclass draws one per
    sample, as the plain definition does: the same runs, query for query."""
    from nasbench_lab.strategies.random_search import RandomSearch

    class OneAtATime(RandomSearch):
        pass

    for vname, budget in (("synthetic", Budget(seconds=3000)), ("3ops", Budget(queries=40)),
                          ("nb201", Budget(seconds=12000))):
        for run in range(3):
            ahead, _ = _both(RandomSearch, views[vname], budget, run)
            plain, _ = _both(OneAtATime, views[vname], budget, run)
            assert ahead.n_queries > 3
            _same(ahead, plain)
    ctx = SearchContext(space=views["nb201"].table.space, fidelities=(12,))
    assert RandomSearch(ctx, np.random.default_rng(0))._block == 64
    assert OneAtATime(ctx, np.random.default_rng(0))._block == 1
