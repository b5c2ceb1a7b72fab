import json
import subprocess
import sys

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.experiment import StrategySpec, run_experiment
from nasbench_lab.results import ResultStore
from nasbench_lab.runner import Budget, RunRecord, SearchView, run_loop, run_search
from nasbench_lab.spaces import NB201
from nasbench_lab.strategies import Ask, SearchContext, Strategy


class Scripted(Strategy):
    """Asks a fixed list of (index, epoch); records what it is told (not registered)."""
    name = "scripted"
    defaults = {}

    def __init__(self, context, rng, script):
        super().__init__(context, rng)
        self.script = list(script)
        self.told = []

    def ask(self):
        if not self.script:
            return None
        i, e = self.script.pop(0)
        return Ask(NB201.from_index(i), e)

    def tell(self, ask, obs):
        self.told.append(obs)


def drive(table, script, budget, seed=0):
    view = SearchView(table, None, None)
    strat = Scripted(SearchContext(NB201, view.search.recorded_epochs), np.random.default_rng(0), script)
    rec = RunRecord(meta={"strategy": "scripted"})
    noise = np.random.default_rng(seed).random(table.n_archs)
    run_loop(strat, view, noise, budget, rec)
    return strat, rec, view


def test_cost_and_incremental_continuation(synthetic_table):
    t = synthetic_table
    strat, rec, view = drive(t, [(10, 3), (10, 7), (10, 7), (10, 2), (11, None)], Budget(queries=10))
    col = view.seed_column(10, np.random.default_rng(0).random(t.n_archs)[10])
    tt = t.array("12", "train_time")[10, col]
    vt = t.array("12", "valid_time")[10, col]
    assert rec.cost[0] == pytest.approx(tt[2] + vt[2])             # train to epoch 3 + a valid pass
    assert rec.cost[1] == pytest.approx(tt[6] - tt[2] + vt[6])     # continue 3 -> 7
    assert rec.cost[2] == pytest.approx(vt[6])                     # already trained to 7
    assert rec.cost[3] == pytest.approx(vt[1])                     # earlier checkpoint
    assert rec.epoch.tolist() == [3, 7, 7, 2, 12]
    assert np.allclose(np.cumsum(rec.cost), rec.time)
    # same seed column for the whole run of an arch
    assert [o.valid_acc for o in strat.told[:4]] == pytest.approx(
        [t.array("12", "valid_acc")[10, col, e - 1] for e in (3, 7, 7, 2)])


def test_budget_query_not_made_nor_charged(synthetic_table):
    t = synthetic_table
    full = drive(t, [(i, None) for i in range(40)], Budget(queries=40))[1]
    limit = full.time[9] + 0.5 * full.cost[10]
    strat, rec, _ = drive(t, [(i, None) for i in range(40)], Budget(seconds=limit))
    assert rec.n_queries == 10 and rec.time[-1] == full.time[9] <= limit
    assert len(strat.told) == 10
    assert drive(t, [(i, None) for i in range(40)], Budget(queries=7))[1].n_queries == 7


def test_incumbent_chosen_on_validation_reported_on_report_schedule(synthetic_table):
    t = synthetic_table
    strat, rec, view = drive(t, [(i, None) for i in range(0, 3000, 97)], Budget(queries=100))
    vals = np.array([o.valid_acc for o in strat.told])
    for k in range(len(vals)):
        best = int(np.nanargmax(vals[: k + 1]))
        assert rec.incumbent[k] == NB201.to_index(strat.told[best].arch)
        i = rec.incumbent[k]
        assert rec.incumbent_test[k] == pytest.approx(t.lookup("test_acc", [i])[0])
    assert not hasattr(strat.told[0], "test_acc")


@pytest.mark.parametrize("bad", [dict(), dict(seconds=0), dict(seconds=-3), dict(queries=0),
                                 dict(seconds=float("nan")), dict(queries=2.5)])
def test_bad_budgets(bad):
    with pytest.raises(NasbenchError):
        Budget(**bad)


def test_same_seed_same_trajectory_in_fresh_process_and_global_rng_untouched(synthetic_table):
    import random

    random.seed(5)
    np.random.seed(5)
    g1, g2 = random.random(), np.random.random()
    random.seed(5)
    np.random.seed(5)
    a = run_search(synthetic_table, "rea", seed=3, run=1, budget=Budget(seconds=4000))
    b = run_search(synthetic_table, "rea", seed=3, run=1, budget=Budget(seconds=4000))
    assert (random.random(), np.random.random()) == (g1, g2)
    assert a.arch.tolist() == b.arch.tolist() and a.time.tolist() == b.time.tolist() \
        and a.incumbent_test.tolist() == b.incumbent_test.tolist()
    code = ("import json; from nasbench_lab.tables import Table; from nasbench_lab.runner import run_search, Budget; "
            f"r=run_search(Table({synthetic_table.path!r}), 'rea', seed=3, run=1, budget=Budget(seconds=4000)); "
            "print(json.dumps([r.arch.tolist(), r.time.tolist()]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [a.arch.tolist(), a.time.tolist()]
    c = run_search(synthetic_table, "rea", seed=3, run=2, budget=Budget(seconds=4000))
    assert c.arch.tolist() != a.arch.tolist()


def test_runs_are_paired_across_strategies(synthetic_table):
    """Run i of every strategy draws the same table seed for the same architecture."""
    view = SearchView(synthetic_table, None, None)
    cols = {}
    for strat in ("random", "rea"):
        rec = run_search(synthetic_table, strat, seed=0, run=4, budget=Budget(queries=60), view=view)
        noise = np.random.default_rng(np.random.SeedSequence([0, 4]).spawn(2)[1]).random(15625)
        cols[strat] = {i: view.seed_column(i, noise[i]) for i in rec.arch.tolist()}
    common = set(cols["random"]) & set(cols["rea"])
    assert all(cols["random"][i] == cols["rea"][i] for i in common)


def test_seconds_budget_needs_costs(tmp_path):
    from nasbench_lab.tables import Table, TableWriter

    with TableWriter(tmp_path / "nc.h5", name="nc", space=NB201, dataset="x") as w:
        w.add_schedule("1", epochs=1, recorded_epochs=[1], seeds=["0"], metrics=("valid_acc", "test_acc"))
        w.write("1", "valid_acc", np.ones((15625, 1, 1)))
        w.write("1", "test_acc", np.ones((15625, 1, 1)))
        w.set_present("1", np.ones((15625, 1), bool))
    t = Table(tmp_path / "nc.h5")
    with pytest.raises(NasbenchError, match="no costs"):
        run_search(t, "random", seed=0, budget=Budget(seconds=10))
    assert run_search(t, "random", seed=0, budget=Budget(queries=5)).n_queries == 5


def test_experiment_stores_and_reuses_runs(tmp_path, synthetic_table_path):
    import sqlite3

    out = tmp_path / "res"
    kw = dict(runs=6, seed=1, budget=Budget(queries=15), out=str(out), chunk=2)
    store, res = run_experiment([synthetic_table_path], [StrategySpec("random")], **kw)
    assert res["new_runs"] == 6
    assert store.stored_runs("synthetic-nb201", "random") == set(range(6))
    store.close()

    def rows():
        with sqlite3.connect(out / "results.sqlite") as con:
            return con.execute("SELECT run, meta, time FROM runs ORDER BY run").fetchall()

    before = rows()
    store, res = run_experiment([synthetic_table_path], [StrategySpec("random")], **{**kw, "runs": 8})
    store.close()
    assert res["new_runs"] == 2 and rows()[:6] == before  # stored runs reused, never rewritten
    with sqlite3.connect(out / "results.sqlite") as con:  # a run lost in a crash is redone, identically
        con.execute("DELETE FROM runs WHERE run = 3")
    store, res2 = run_experiment([synthetic_table_path], [StrategySpec("random")], **{**kw, "runs": 8})
    store.close()
    recs = res2["results"][("synthetic-nb201", "random")]
    assert res2["new_runs"] == 1
    assert recs[3].arch.tolist() == res["results"][("synthetic-nb201", "random")][3].arch.tolist()
    with pytest.raises(NasbenchError, match="another configuration .*budget_queries"):
        run_experiment([synthetic_table_path], [StrategySpec("random")], **{**kw, "budget": Budget(queries=16)})
    assert len(rows()) == 8
    with pytest.raises(NasbenchError, match="holds no nasbench_lab results"):
        ResultStore(tmp_path)


def test_parallel_equals_serial(tmp_path, synthetic_table_path):
    kw = dict(runs=4, seed=2, budget=Budget(seconds=3000), chunk=1)
    _, a = run_experiment([synthetic_table_path], [StrategySpec("rea")], out=str(tmp_path / "a"), **kw)
    _, b = run_experiment([synthetic_table_path], [StrategySpec("rea")], out=str(tmp_path / "b"), workers=2, **kw)
    ra, rb = (x["results"][("synthetic-nb201", "rea")] for x in (a, b))
    assert [r.arch.tolist() for r in ra] == [r.arch.tolist() for r in rb]
