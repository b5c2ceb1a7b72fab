"""Cost-aware search: --objectives and --max-params, vector observations, NSGA-II, the hypervolume report."""
import json

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.cli import main
from nasbench_lab.objectives import Objectives, parse_objectives
from nasbench_lab.runner import Budget, run_search
from nasbench_lab.strategies.nsga2 import crowding_distance, nondominated_ranks, select
from nasbench_lab.strategies.random_search import RandomSearch

VEC = Objectives(("valid_acc", "params"))


def _error(capsys, *argv):
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("nasbench-lab: error: ") and err.count("\n") == 1, err
    return err


def _compare(table, out, *extra):
    return ["compare", "--table", table, "--strategies", "random,nsga2", "--runs", 2, "--budget-queries", 5,
            "--out", out, *extra]


# ------------------------------------------------------------------ options and their errors

def test_objectives_errors_are_one_line(capsys, synthetic_table_path, tmp_path):
    out = tmp_path / "c"
    assert "unknown metric 'acc'" in _error(capsys, *_compare(synthetic_table_path, out, "--objectives",
                                                             "valid_acc,acc"))
    assert "must start with valid_acc" in _error(capsys, *_compare(synthetic_table_path, out, "--objectives",
                                                                  "params,valid_acc"))
    assert "names params twice" in _error(capsys, *_compare(synthetic_table_path, out, "--objectives",
                                                           "valid_acc,params,params"))
    assert "without empty items" in _error(capsys, *_compare(synthetic_table_path, out, "--objectives",
                                                            "valid_acc,"))
    # the synthetic table has params but not flops; the NB201 export has no static metric at all
    err = _error(capsys, *_compare(synthetic_table_path, out, "--objectives", "valid_acc,flops"))
    assert "has no static metric 'flops'" in err and "it has: params" in err
    err = _error(capsys, "run", "--table", "nb201-cifar10-valid", "--strategy", "random", "--runs", 1,
                 "--budget-queries", 3, "--out", tmp_path / "r", "--objectives", "valid_acc,params")
    assert "has no static metric 'params' (it has: none)" in err
    assert "--max-params must be a positive number" in _error(capsys, *_compare(synthetic_table_path, out,
                                                                                "--max-params", "-3"))
    assert "no cell of table" in _error(capsys, *_compare(synthetic_table_path, out, "--max-params", "10"))
    assert "cannot be combined" in _error(capsys, *_compare(synthetic_table_path, out, "--objectives",
                                                           "valid_acc,params", "--report-table",
                                                           synthetic_table_path))
    assert not out.exists() or not any(out.iterdir())  # refused before anything was written


def test_parse_objectives_and_config():
    assert parse_objectives(None).is_default and parse_objectives(None).config() == {}
    o = parse_objectives(" valid_acc , params", 5e3)
    assert o.names == ("valid_acc", "params") and o.max_params == 5000.0 and o.is_vector
    assert Objectives.from_config(o.config()) == o
    with pytest.raises(NasbenchError, match="positive number"):
        Objectives(max_params=float("nan"))


# ------------------------------------------------------------------ what a strategy is told

class Recorder(RandomSearch):
    """Keeps every observation it is told. Parameters: dedup, max_tries."""

    name = "test-mo-recorder"

    def __init__(self, context, rng, **params):
        super().__init__(context, rng, **params)
        self.context_objectives = context.objectives
        self.told = []

    def tell(self, ask, obs):
        super().tell(ask, obs)
        self.told.append(obs)



def _recorded(table, objectives, n=40):
    import nasbench_lab.strategies.base as base

    made = []
    orig = Recorder.__init__

    def init(self, *a, **k):
        orig(self, *a, **k)
        made.append(self)

    Recorder.__init__ = init
    try:
        rec = run_search(table, Recorder, seed=0, run=0, budget=Budget(queries=n), objectives=objectives)
    finally:
        Recorder.__init__ = orig
    assert isinstance(made[0].told[0], base.Observation)
    return rec, made[0]


def test_vector_observations_carry_the_static_metrics(synthetic_table):
    rec, strat = _recorded(synthetic_table, VEC)
    params = np.asarray(synthetic_table.static("params"))
    assert strat.context_objectives == ("valid_acc", "params")
    for o in strat.told:
        idx = synthetic_table.space.to_index(o.arch)
        assert o.objectives == (o.valid_acc, params[idx]) and o.feasible
    assert rec.meta["objectives"] == ["valid_acc", "params"]
    _, plain = _recorded(synthetic_table, None)
    assert all(o.objectives == () and o.feasible for o in plain.told)  # single objective: unchanged


def test_max_params_constraint(synthetic_table):
    params = np.asarray(synthetic_table.static("params"), dtype=float)
    cap = float(np.median(params))
    rec, strat = _recorded(synthetic_table, Objectives(max_params=cap), n=60)
    feas = params[rec.arch] <= cap
    assert feas.any() and (~feas).any()
    # infeasible queries are made and charged: the clock moves by their cost too
    assert np.allclose(np.diff(np.concatenate([[0.0], rec.time])), rec.cost) and (rec.cost[~feas] > 0).all()
    # the strategy sees them as failed trainings, with their real objectives kept
    for o, ok in zip(strat.told, feas):
        assert o.feasible == ok and (o.valid_acc == o.valid_acc) == ok and o.objectives[0] == o.objectives[0]
    # the incumbent: the best observed feasible one; before the first feasible query, none
    first = int(np.argmax(feas))
    assert (rec.incumbent[:first] == -1).all() and np.isnan(rec.incumbent_test[:first]).all()
    for k in range(first, rec.n_queries):
        seen = [(v, a) for a, v, f in zip(rec.arch[:k + 1], rec.valid[:k + 1], feas[:k + 1]) if f]
        assert rec.incumbent[k] == max(seen, key=lambda t: t[0])[1]
    assert params[rec.incumbent[-1]] <= cap


# ------------------------------------------------------------------ NSGA-II

def test_nondominated_sort_and_crowding():
    losses = np.array([[0, 3], [1, 1], [3, 0], [2, 2], [3, 3], [np.inf, np.inf]], dtype=float)
    assert nondominated_ranks(losses).tolist() == [0, 0, 0, 1, 2, 3]
    cd = crowding_distance(losses[:3])
    assert np.isinf(cd[0]) and np.isinf(cd[2]) and cd[1] == pytest.approx(2.0)
    keep, ranks, _ = select(losses, 4)
    assert keep.tolist() == [0, 1, 2, 3] and ranks.tolist() == [0, 0, 0, 1]


def test_nsga2_is_deterministic_per_seed_and_differs_across_seeds(synthetic_table):
    def traj(seed):
        r = run_search(synthetic_table, "nsga2", seed=seed, run=1, budget=Budget(queries=70), objectives=VEC,
                       params={"population": 10})
        return r.arch.tolist()

    assert traj(3) == traj(3)
    assert traj(3) != traj(4)
    a = traj(3)
    assert len(set(a)) == len(a)  # dedup: no cell asked twice (the synthetic space has no duplicates)


def test_nsga2_improves_the_front_over_random(synthetic_table):
    """A check that NSGA-II uses the vector: its median final hypervolume over 12 paired runs is at
    least random search's on the synthetic table (measured 0.828 vs 0.817 when written)."""
    from nasbench_lab.report.hypervolume import TablePoints, run_hypervolume

    facts = {"name": synthetic_table.name, "path": str(synthetic_table.path),
             "content_hash": synthetic_table.content_hash, "report_schedule": synthetic_table.default_schedule}
    pts = TablePoints(facts, VEC)
    hv = {s: np.median([run_hypervolume(run_search(synthetic_table, s, seed=0, run=i, budget=Budget(queries=80),
                                                   objectives=VEC), pts)[0][-1] for i in range(12)])
          for s in ("nsga2", "random")}
    assert hv["nsga2"] >= hv["random"]


# ------------------------------------------------------------------ the report

def test_compare_with_objectives_reports_hypervolume(capsys, synthetic_table_path, tmp_path, monkeypatch):
    out = tmp_path / "mo"
    code = main([str(a) for a in ["compare", "--table", synthetic_table_path, "--strategies",
                                  "random,nsga2,scalarised-rea", "--runs", 4, "--budget-queries", 30,
                                  "--objectives", "valid_acc,params", "--out", out]])
    text = capsys.readouterr().out
    assert code == 0 and "final hypervolume of the front" in text
    summary = json.loads((out / "summary.json").read_text())
    hv = next(iter(summary["tables"].values()))["hypervolume"]
    assert hv["objectives"] == ["valid_acc", "params"] and len(hv["pairwise"]) == 3
    assert 0 < hv["final"]["nsga2"]["median"] <= hv["table_front_hypervolume"] <= 1
    assert all(0 <= d["p_holm"] <= 1 for d in hv["pairwise"])
    page = (out / "report.html").read_text()
    assert "Multi-objective: hypervolume" in page and page.count("data:image/png") >= 2
    assert "--objectives valid_acc,params" in json.loads((out / "compare.json").read_text())["command"]
    # another objective into the same folder is refused (the configuration differs)
    err = _error(capsys, "compare", "--table", synthetic_table_path, "--strategies", "random,nsga2,scalarised-rea",
                 "--runs", 4, "--budget-queries", 30, "--out", out)
    assert "another configuration" in err and "objectives" in err


def test_run_hypervolume_follows_the_observed_front(synthetic_table):
    from nasbench_lab.pareto import hypervolume
    from nasbench_lab.report.hypervolume import TablePoints, run_hypervolume

    facts = {"name": synthetic_table.name, "path": str(synthetic_table.path),
             "content_hash": synthetic_table.content_hash, "report_schedule": synthetic_table.default_schedule}
    pts = TablePoints(facts, VEC)
    rec = run_search(synthetic_table, "random", seed=1, run=0, budget=Budget(queries=25), objectives=VEC)
    hv, front = run_hypervolume(rec, pts)
    params = np.asarray(synthetic_table.static("params"), dtype=float)
    obs = np.column_stack([-rec.valid, params[rec.arch]])
    from nasbench_lab.pareto import nondominated_mask

    want = sorted(set(rec.arch[nondominated_mask(obs)].tolist()))
    assert front == want
    assert hv[-1] == pytest.approx(hypervolume(pts.norm[want], pts.ref))
    assert 0 < hv[-1] <= pts.front_hv


def test_scalarised_rea_is_rea_for_a_single_objective(synthetic_table):
    """Its docstring's claim: with accuracy alone (weights (1,), no weight draw) the trajectory is rea's."""
    def traj(s):
        return run_search(synthetic_table, s, seed=2, run=5, budget=Budget(queries=60)).arch.tolist()

    assert traj("scalarised-rea") == traj("rea")
    vec = run_search(synthetic_table, "scalarised-rea", seed=2, run=5, budget=Budget(queries=60), objectives=VEC)
    assert vec.arch.tolist() != traj("rea")  # with params as well, the random weights change the picks


def test_runs_without_a_query_give_no_hypervolume_and_no_crash(capsys, synthetic_table_path, tmp_path):
    code = main([str(a) for a in ["compare", "--table", synthetic_table_path, "--strategies", "random,nsga2",
                                  "--runs", 3, "--budget-seconds", 1, "--objectives", "valid_acc,params",
                                  "--out", tmp_path / "tiny"]])
    text = capsys.readouterr().out
    assert code == 0 and "not enough runs with a front" in text
