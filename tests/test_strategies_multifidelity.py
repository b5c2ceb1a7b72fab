"""Hyperband and BOHB: rung plans, incremental cost of continued runs, BOHB's model; and a
smoke run of every strategy on the real NAS-Bench-201 table under its protocol."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from nasbench_lab.runner import Budget, SearchView, run_search
from nasbench_lab.strategies import SearchContext, strategy_names
from nasbench_lab.strategies.base import Observation
from nasbench_lab.strategies.hyperband import BOHB, Hyperband, rung_plan
from nasbench_lab.tables import Table
from nasbench_lab.tables.synthetic import make_synthetic_table
from nasbench_lab.spaces import NB201


@pytest.fixture(scope="session")
def mf_view(tmp_path_factory):
    p = make_synthetic_table(tmp_path_factory.mktemp("mf") / "mf.h5", seed=4, n_seeds=2, epochs=12)
    return SearchView(Table(p), None, None)


def test_rung_plan_standard_hyperband():
    # R = 27, eta = 3: the brackets of Li et al. (n, r): s=3: 27@1, 9@3, 3@9, 1@27 ...
    plan = rung_plan(tuple(range(1, 28)), 3, 1)
    assert plan == [[(27, 1), (9, 3), (3, 9), (1, 27)], [(12, 3), (4, 9), (1, 27)],
                    [(6, 9), (2, 27)], [(4, 27)]]


def test_rung_plan_rounds_up_to_recorded_epochs_and_merges():
    assert rung_plan(tuple(range(1, 13)), 3, 1) == [[(9, 2), (3, 4), (1, 12)], [(5, 4), (1, 12)], [(3, 12)]]
    assert rung_plan((12,), 3, 1) == [[(1, 12)]]
    # sparse fidelities: budgets 1.33 and 4 both round up to 12, so rungs merge, never re-evaluate
    assert rung_plan((1, 12), 3, 1) == [[(9, 12)], [(5, 12)], [(3, 12)]]


@pytest.mark.parametrize("name", ["hyperband", "bohb"])
def test_continued_runs_pay_only_the_increment(mf_view, name):
    rec = run_search(mf_view.table, name, seed=0, run=0, budget=Budget(queries=120), view=mf_view)
    tt, vt = mf_view.metrics["train_time"], mf_view.metrics["valid_time"]
    epochs = mf_view.search.recorded_epochs
    noise = np.random.default_rng(np.random.SeedSequence([0, 0]).spawn(2)[1]).random(mf_view.table.n_archs)
    last = {}
    continued = 0
    for idx, ep, cost in zip(rec.arch, rec.epoch, rec.cost):
        col = mf_view.seed_column(idx, noise[idx])
        ei = epochs.index(ep)
        prev = last.get(idx)
        assert prev is None or prev < ep, "a configuration was evaluated twice at the same epoch"
        paid_from = 0.0 if prev is None else tt[idx, col, epochs.index(prev)]
        assert cost == pytest.approx(tt[idx, col, ei] - paid_from + vt[idx, col, ei], rel=1e-5)
        continued += prev is not None
        last[idx] = ep
    assert continued > 5
    assert set(rec.epoch) >= {2, 4, 12}


def test_successive_halving_promotes_the_best():
    ctx = SearchContext(space=NB201, fidelities=tuple(range(1, 13)))
    hb = Hyperband(ctx, np.random.default_rng(0))
    asks = [hb.ask() for _ in range(9)]
    assert {a.epoch for a in asks} == {2} and len({a.arch for a in asks}) == 9
    for i, a in enumerate(asks):
        hb.tell(a, Observation(a.arch, 2, float(i), 1.0, 0.0, 0.0, 1.0, float(i)))
    promoted = [hb.ask() for _ in range(3)]
    for i, a in enumerate(promoted):
        hb.tell(a, Observation(a.arch, 4, float(i), 1.0, 0.0, 0.0, 1.0, 10.0 + i))
    assert {a.epoch for a in promoted} == {4}
    assert {a.arch for a in promoted} == {asks[8].arch, asks[7].arch, asks[6].arch}
    final = hb.ask()
    assert final.epoch == 12 and final.arch == promoted[2].arch


def test_nan_is_never_promoted_over_finite():
    ctx = SearchContext(space=NB201, fidelities=(4, 12))
    hb = Hyperband(ctx, np.random.default_rng(1), eta=3, min_epoch=4)
    asks = [hb.ask() for _ in range(hb.plan[0][0][0])]
    for i, a in enumerate(asks):
        v = float("nan") if i == 0 else float(i)
        hb.tell(a, Observation(a.arch, 4, v, v, 0.0, 0.0, 1.0, float(i)))
    nxt = hb.ask()
    assert nxt.epoch == 12 and nxt.arch == asks[-1].arch


def test_bohb_model_kicks_in_and_prefers_good_regions():
    ctx = SearchContext(space=NB201, fidelities=(12,))
    bohb = BOHB(ctx, np.random.default_rng(2), random_fraction=0.0)
    rng = np.random.default_rng(3)
    for _ in range(60):
        a = bohb.ask()
        # a landscape where option 3 everywhere is best
        v = 50 + 5 * float(np.sum(np.array(a.arch.choices) == 3)) + rng.normal()
        bohb.tell(a, Observation(a.arch, 12, v, 1.0, 0.0, 0.0, 1.0, 0.0))
    assert bohb._model_data() is not None
    late = [bohb.ask() for _ in range(20)]
    for a in late:
        bohb.tell(a, Observation(a.arch, 12, 50.0, 1.0, 0.0, 0.0, 1.0, 0.0))
    share = np.mean([np.mean(np.array(a.arch.choices) == 3) for a in late])
    assert share > 0.4  # uniform sampling would give 0.2


def _ensure_nb201(tmp_path_factory) -> str:
    from nasbench_lab.tables import builtin_tables

    return str(builtin_tables()["nb201-cifar10-valid"])  # shipped, converted from ../shared/nb201


@pytest.fixture(scope="session")
def nb201_view(tmp_path_factory):
    return SearchView(Table(_ensure_nb201(tmp_path_factory)), "12", "200")


@pytest.mark.parametrize("name", strategy_names())
def test_every_strategy_runs_the_nb201_protocol(nb201_view, name):
    if name.startswith("proxy_"):
        pytest.skip("proxy-assisted strategies need a table with zero-cost proxies (NB201's CIFAR has none)")
    rec = run_search(nb201_view.table, name, seed=0, run=0, budget=Budget(seconds=12000), view=nb201_view)
    assert 50 < rec.n_queries < 200
    assert rec.time[-1] <= 12000
    assert rec.final["valid"] > 88 and rec.final["test"] > 86
    assert set(rec.epoch) == {12}
    if name not in ("rea", "scalarised-rea", "reinforce", "random"):  # these do not deduplicate by default
        keys = defaultdict(int)
        for idx in rec.arch:
            keys[NB201.canonical_key(NB201.from_index(idx))] += 1
        assert max(keys.values()) == 1
