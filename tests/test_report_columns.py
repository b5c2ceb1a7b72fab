"""The report's vectorised path (report/run_columns.py, ResultStore.load_columns, stats.summary_tables)
gives exactly the numbers of the per-run path it replaced: stats.anytime_curves over RunRecords,
RunRecord.final, one summary_table per metric."""
import sqlite3

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab import stats as st
from nasbench_lab.experiment import StrategySpec, run_experiment
from nasbench_lab.report.analysis import analyze, final_samples
from nasbench_lab.report.manifest import LEVEL, METRICS, N_BOOT
from nasbench_lab.report.run_columns import RunColumns, anytime_matrix, step_index
from nasbench_lab.results import DB, ResultStore
from nasbench_lab.runner import Budget, RunRecord

CONFIG = {"seed": 0, "budget_seconds": 100.0, "tables": {}, "strategies": {}}


def _ragged_store(tmp_path, n=40):
    """Runs of 0 to 15 queries: repeated clock values, clocks exactly on grid points, NaN incumbents."""
    rng = np.random.default_rng(3)
    grid = st.time_grid(100.0, 50, log=True, min_time=0.5)
    recs = []
    for i in range(n):
        q = int(rng.integers(0, 16)) if i else 0
        t = np.cumsum(rng.choice([0.0, 0.7, 3.0, 11.0], q))
        if q > 2:
            t[1:3] = grid[[7, 20]]
            t = np.maximum.accumulate(t)
        iv = rng.normal(80, 5, q)
        iv[: min(q, int(rng.integers(0, 3)))] = np.nan
        recs.append(RunRecord({"strategy": "s", "table": "t", "run": i, "seed": 0, "budget_seconds": 100.0,
                               "wall_seconds": float(rng.uniform())},
                              time=t, arch=rng.integers(0, 9, q), epoch=np.full(q, 12), cost=np.ones(q),
                              valid=iv, incumbent=rng.integers(0, 9, q), incumbent_valid=iv,
                              incumbent_test=iv - 1.0))
    store = ResultStore(tmp_path / "ragged", dict(CONFIG))
    store.save_many(recs)
    return store, grid


def test_columns_are_the_records_concatenated(tmp_path):
    store, _ = _ragged_store(tmp_path)
    recs = store.load("t", "s")
    cols = store.load_columns("t", "s", columns=None)
    assert cols["run"].tolist() == [r.meta["run"] for r in recs] and cols["meta"] == [r.meta for r in recs]
    assert cols["length"].tolist() == [r.n_queries for r in recs]
    for c in ("time", "arch", "incumbent", "incumbent_valid", "incumbent_test"):
        want = np.concatenate([getattr(r, c) for r in recs])
        assert cols[c].dtype == want.dtype and np.array_equal(cols[c], want, equal_nan=True)
    rc = RunColumns(store.load_columns("t", "s", runs=25))
    fin = rc.final()
    for i, r in enumerate(store.load("t", "s", runs=25)):
        f = r.final
        assert (fin["arch"][i] == (-1 if f["arch"] is None else f["arch"])) and fin["time"][i] == f["time"]
        assert np.array_equal([fin["valid"][i], fin["test"][i]], [f["valid"], f["test"]], equal_nan=True)


@pytest.mark.parametrize("kind", ["time", "queries"])
def test_anytime_matrix_is_anytime_curves_bit_for_bit(tmp_path, kind):
    store, grid = _ragged_store(tmp_path)
    recs = store.load("t", "s")
    rc = RunColumns(store.load_columns("t", "s"))
    if kind == "queries":
        grid = np.unique(np.round(np.geomspace(1, 15, 9))).astype(float)
    index = step_index(rc.x(kind), rc.start, rc.length, grid)
    for col in ("incumbent_valid", "incumbent_test"):
        old = st.anytime_curves([(r.time if kind == "time" else np.arange(1, r.n_queries + 1, dtype=float),
                                  getattr(r, col)) for r in recs], grid)
        new = anytime_matrix(getattr(rc, col), index)
        assert np.array_equal(old, new, equal_nan=True)
        assert all(np.array_equal(a, b, equal_nan=True)
                   for a, b in zip(st.curve_band(old, level=LEVEL), st.curve_band(new, level=LEVEL)))


def test_step_index_refuses_what_anytime_curves_refuses():
    x = np.array([1.0, 2.0, 0.5, 3.0, 1.0, np.nan])
    for length, run in (([2, 2, 2], 2), ([1, 3, 2], 1)):
        length = np.array(length)
        start = np.concatenate([[0], np.cumsum(length)[:-1]])
        with pytest.raises(NasbenchError, match=f"run {run} has times that are not non-decreasing"):
            step_index(x, start, length, [1.0, 2.0])
    # a run boundary is no order: each run on its own is non-decreasing
    assert step_index(np.array([5.0, 6.0, 1.0]), np.array([0, 0, 2]), np.array([0, 2, 1]),
                      [1.0, 5.5, 7.0]).tolist() == [[3, 3, 3], [3, 0, 1], [2, 2, 2]]


def test_summary_tables_equal_one_summary_table_per_key():
    rng = np.random.default_rng(1)
    a = rng.normal(90, 1, 301)
    a_nan = a.copy()
    a_nan[::7] = np.nan
    samples = {"test": {"x": a, "y": a[::-1] - 0.5, "c": [3.0, 3.0, 3.0]},
               "valid": {"x": a + 0.25, "y": a_nan, "c": [1.0]},
               "regret": {"y": 90.0 - a, "x": a_nan, "c": []}}
    many = st.summary_tables(samples, level=0.9, n_boot=500, rng=4)
    for k, v in samples.items():
        one = st.summary_table(v, level=0.9, n_boot=500, rng=4)
        assert list(many[k]) == list(one)
        for name in v:
            assert set(many[k][name]) == set(one[name])
            assert all(np.array_equal(many[k][name][f], one[name][f], equal_nan=True) for f in one[name]), (k, name)


def test_mean_jackknife_matches_the_leave_one_out_loop():
    """For the mean, BCa's acceleration comes from x - mean instead of n leave-one-out means
    (O(n)); the interval is the loop's up to float rounding (the loop subtracts nearly equal means)."""
    rng = np.random.default_rng(2)
    for n in (3, 17, 400, 2000):
        x = np.round(rng.normal(90, 1, n), 2)
        fast = st.bootstrap_ci(x, np.mean, n_boot=800, rng=n)
        loop = st.bootstrap_ci(x, lambda v, axis=-1: np.mean(v, axis=axis), n_boot=800, rng=n)
        np.testing.assert_allclose(fast, loop, rtol=1e-12, atol=0)


def test_analyze_equals_the_per_run_computation(tmp_path, synthetic_table_path):
    """A small compare directory: every anytime band and final statistic of `analyze` recomputed
    the old way, from RunRecords, one run at a time."""
    out = tmp_path / "cmp"
    store, _ = run_experiment([synthetic_table_path], [StrategySpec("random"), StrategySpec("rea")], runs=6,
                              seed=5, budget=Budget(seconds=3000), out=str(out), progress=False)
    store.close()
    summary, curves = analyze(out)
    with ResultStore(out) as store:
        for tname, tab in summary["tables"].items():
            c = curves[tname]
            oracle = tab["facts"]["oracle"]["valid"]
            recs = {s: store.load(tname, s) for s in tab["ranking"]}
            for s, rr in recs.items():
                for values, v in (("regret", lambda r: oracle - r.incumbent_valid), ("test", lambda r: r.incumbent_test)):
                    mat = st.anytime_curves([(r.time, v(r)) for r in rr], c["grid"])
                    band = st.curve_band(mat, level=LEVEL, method="mean_ci")
                    assert all(np.array_equal(b, c[values][s][k], equal_nan=True)
                               for b, k in zip(band, ("mean", "ci_low", "ci_high")))
                assert tab["per_run"][s] == {m: {str(k): v for k, v in d.items()}  # JSON keys
                                             for m, d in final_samples(rr, oracle).items()}
                assert tab["final"][s]["sim_seconds_mean"] == float(np.mean([r.final["time"] for r in rr]))
                assert tab["final"][s]["queries_mean"] == float(np.mean([r.n_queries for r in rr]))
            for m in METRICS:
                samples = {s: final_samples(rr, oracle)[m] for s, rr in recs.items()}
                one = st.summary_table({s: [samples[s][k] for k in sorted(samples[s])] for s in recs},
                                       level=LEVEL, n_boot=N_BOOT, rng=5)
                for s in recs:
                    got = {k: v for k, v in tab["final"][s][m].items()}
                    assert got == {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in one[s].items()}


def test_damaged_row_is_refused_as_load_refuses_it(tmp_path):
    store, _ = _ragged_store(tmp_path)
    store.close()
    with sqlite3.connect(tmp_path / "ragged" / DB) as con:
        con.execute("UPDATE runs SET cost = ? WHERE run = 5", (np.ones(99).tobytes(),))
    with ResultStore(tmp_path / "ragged") as store:
        for f in (store.load, store.load_columns):
            with pytest.raises(NasbenchError, match="run 5 of 's' on 't' .* is damaged"):
                f("t", "s")


def test_curve_band_is_the_former_computation_bit_for_bit():
    """curve_band with one NaN mask and in-place buffers: the numbers of its former np.where version."""
    from scipy import stats as sps

    rng = np.random.default_rng(6)
    m = rng.normal(5, 1, (301, 40))
    m[:120, :5] = np.nan  # columns 0-4: too few runs; 5-9: some missing
    m[:40, 5:10] = np.nan
    valid = ~np.isnan(m)
    count = valid.sum(axis=0)
    enough = (count > 0) & (count >= 0.5 * m.shape[0])
    sub, cnt = m[:, enough], count[enough]
    mean = np.where(np.isnan(sub), 0.0, sub).sum(axis=0) / cnt
    dev = np.where(np.isnan(sub), 0.0, sub - mean)
    half = sps.t.ppf(0.975, cnt - 1) * np.sqrt((dev ** 2).sum(axis=0) / (cnt - 1) / cnt)
    center, lo, hi = st.curve_band(m, level=0.95)
    assert np.isnan(center[~enough]).all()
    assert np.array_equal(center[enough], mean) and np.array_equal(lo[enough], mean - half)
    assert np.array_equal(hi[enough], mean + half)
