"""transfer/: rank agreement against scipy, top-decile selection, distinct cells, and `--report-table` in run/compare."""
import json

import numpy as np
import pytest
from scipy import stats

from nasbench_lab import NasbenchError
from nasbench_lab.cli import main
from nasbench_lab.spaces import NB201
from nasbench_lab.tables.synthetic import make_synthetic_table
from nasbench_lab.tables.table import Table
from nasbench_lab.tables.writer import TableWriter
from nasbench_lab.transfer.cells import cell_values
from nasbench_lab.transfer.correlation import (agreement, bootstrap_interval, kendall, spearman, top_share,
                                               topk_overlap)
from nasbench_lab.transfer.pairs import transfer_summary


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """Two synthetic NB201 tables (tasks A and B) and one over another space's size (small, fast)."""
    d = tmp_path_factory.mktemp("transfer")
    a = make_synthetic_table(d / "a.h5", seed=0, n_seeds=2, epochs=3, name="task-a")
    b = make_synthetic_table(d / "b.h5", seed=1, n_seeds=2, epochs=4, name="task-b")
    return {"a": a, "b": b, "dir": d}


def _partial(path, src, keep: np.ndarray, name="task-b-partial"):
    """A copy of table `src` where only the cells in `keep` (bool per cell) have an entry."""
    with Table(src) as t:
        sch = t.schedule(None)
        with TableWriter(path, name=name, space=NB201, dataset="synthetic",
                         provenance={"source": "test: partial copy"}) as w:
            w.add_schedule(sch.name, epochs=sch.epochs, recorded_epochs=sch.recorded_epochs, seeds=list(sch.seeds),
                           protocol={})
            present = t.present(sch.name) & keep[:, None]
            for m in sch.metrics:
                w.write(sch.name, m, np.where(present[:, :, None], t.array(sch.name, m), np.nan))
            w.set_present(sch.name, present)
    return str(path)


# --- the numbers ---------------------------------------------------------------------------------
def test_correlations_match_scipy_on_known_inputs():
    a = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    b = np.array([2.0, 1, 4, 3, 6, 5, 8, 7])  # adjacent pairs swapped
    assert spearman(a, b) == pytest.approx(stats.spearmanr(a, b).statistic)
    assert spearman(a, b) == pytest.approx(1 - 6 * 8 / (8 * 63))  # sum d^2 = 8
    assert kendall(a, b) == pytest.approx(stats.kendalltau(a, b).statistic)
    assert kendall(a, b) == pytest.approx((24 - 4) / 28)  # 4 discordant pairs of 28
    assert spearman(a, -a) == pytest.approx(-1.0) and kendall(a, a) == pytest.approx(1.0)
    assert np.isnan(spearman(a, np.ones(8)))  # a constant has no ranking


def test_top_decile_and_overlap():
    x = np.array([5.0, 9, 1, 9, 3, 7, 2, 8, 4, 6, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9.5])
    assert top_share(x).tolist() == [1, 19]  # ceil(10% of 20) = 2: 9.5, then the tie 9 at the lower index
    assert top_share(np.arange(25.0)).tolist() == [22, 23, 24]  # ceil(2.5) = 3
    a = np.arange(100.0)
    b = a.copy()
    b[[99, 0]] = b[[0, 99]]  # the best and the worst cell swap places
    assert topk_overlap(a, b, 10) == pytest.approx(0.9)
    assert topk_overlap(a, a, 10) == 1.0
    r = agreement(a, b, ks=(10, "5%"), n_resamples=0)
    assert r["n_top"] == 10 and r["overlap"]["5%"]["k"] == 5 and r["overlap"]["5%"]["share"] == pytest.approx(0.8)
    top = top_share(a)
    assert r["spearman_top"]["value"] == pytest.approx(stats.spearmanr(a[top], b[top]).statistic)
    assert r["spearman_overall"]["value"] == pytest.approx(stats.spearmanr(a, b).statistic)


def test_bootstrap_interval_brackets_the_value_and_is_seeded():
    rng = np.random.default_rng(3)
    a = rng.normal(size=300)
    b = a + rng.normal(size=300)
    rho = spearman(a, b)
    for which in ("spearman", "kendall"):
        lo, hi = bootstrap_interval(a, b, which, n_resamples=300, rng=np.random.default_rng(0))
        again = bootstrap_interval(a, b, which, n_resamples=300, rng=np.random.default_rng(0))
        assert (lo, hi) == again and lo < hi
        value = rho if which == "spearman" else kendall(a, b)
        assert lo < value < hi and hi - lo < 0.3


def test_distinct_cells_are_class_means(tables):
    from nasbench_lab.spaces.finite import enumeration

    with Table(tables["a"]) as t:
        canon = enumeration(t.space).canon
        per_cell = cell_values(t, "3", "test_acc", "all")
        per_class = cell_values(t, "3", "test_acc")
        assert len(per_class) == canon.max() + 1 == 5260 and len(per_cell) == NB201.size
        for c in (0, int(canon[123]), int(canon[-1])):
            assert per_class[c] == pytest.approx(per_cell[canon == c].mean())


def test_summary_matches_direct_computation(tables):
    with Table(tables["a"]) as a, Table(tables["b"]) as b:
        s = transfer_summary([a, b], n_resamples=50, seed=1)
        x, y = cell_values(a, "3", "valid_acc"), cell_values(b, "4", "valid_acc")
    r = s["pairs"][0]["metrics"]["valid_acc"]
    assert r["n"] == 5260 and s["tables"][1]["schedule"] == "4"
    assert r["spearman_overall"]["value"] == pytest.approx(stats.spearmanr(x, y).statistic)
    assert r["kendall_overall"]["value"] == pytest.approx(stats.kendalltau(x, y).statistic)
    top = np.argsort(-x, kind="stable")[:526]
    assert r["kendall_top"]["value"] == pytest.approx(stats.kendalltau(x[top], y[top]).statistic)
    assert s["matrix"]["valid_acc"]["spearman"][0][1] == pytest.approx(r["spearman_overall"]["value"])
    with Table(tables["a"]) as a, Table(tables["b"]) as b:
        every = transfer_summary([a, b], n_resamples=0, cells="all")["pairs"][0]["metrics"]["test_acc"]
        xa, ya = cell_values(a, "3", "test_acc", "all"), cell_values(b, "4", "test_acc", "all")
    assert every["n"] == NB201.size and every["overlap"]["1%"]["k"] == 157
    assert every["spearman_overall"]["value"] == pytest.approx(stats.spearmanr(xa, ya).statistic)
    assert np.isnan(every["spearman_overall"]["ci_low"])  # no resamples, no interval


def test_transfer_cli_json_png_and_errors(tables, tmp_path, capsys):
    png = tmp_path / "t.png"
    assert main(["transfer", tables["a"], tables["b"], "--resamples", "20", "--png", str(png), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert png.stat().st_size > 10_000 and out["cells"] == "distinct"
    assert {p["a"] + ">" + p["b"] for p in out["pairs"]} == {"task-a>task-b"}
    assert main(["transfer", tables["a"], "nb201-3ops-small"]) == 2
    assert "different spaces" in capsys.readouterr().err
    assert main(["transfer", tables["a"], tables["b"], "--schedule", "task-b=7"]) == 2
    assert "no schedule '7'" in capsys.readouterr().err


# --- --report-table in run and compare -----------------------------------------------------------
def _run(tables, out, *extra):
    return main(["run", "--table", tables["a"], "--strategy", "random", "--runs", "3", "--budget-queries", "15",
                 "--out", str(out), "--json", *extra])


def test_run_reports_the_incumbent_on_table_b(tables, tmp_path, capsys):
    from nasbench_lab.results import ResultStore

    out = tmp_path / "r"
    assert _run(tables, out, "--report-table", tables["b"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["report_table"] == "task-b" and summary["report_schedule"] == "4"
    recs = ResultStore(out).load("task-a", "random", 3)
    with Table(tables["b"]) as b, Table(tables["a"]) as a:
        for r in recs:
            assert r.meta["report_table_hash"] == b.content_hash
            assert np.allclose(r.incumbent_test, b.lookup("test_acc", r.incumbent, "4"))
            assert np.allclose(r.incumbent_valid, b.lookup("valid_acc", r.incumbent, "4"))
            # the search saw A: the incumbent is the best valid observed on A, not on B
            assert r.incumbent[-1] == r.arch[int(np.nanargmax(r.valid))]
            assert not np.allclose(r.incumbent_test, a.lookup("test_acc", r.incumbent, "3"))
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["report_table"]["name"] == "task-b" and cfg["report_table"]["schedule"] == "4"
    # a run directory has no compare.json: the report reopens B from the config and says so
    assert main(["report", str(out)]) == 0
    assert "4-epoch schedule of table task-b: the search saw only task-a" in capsys.readouterr().out
    # resumed with another report table (or none): refused, nothing overwritten
    assert _run(tables, out, "--report-table", tables["a"]) == 2
    assert "differs in: report_table" in capsys.readouterr().err
    assert _run(tables, out) == 2
    assert "report_table" in capsys.readouterr().err


def test_report_table_errors(tables, tmp_path, capsys):
    assert _run(tables, tmp_path / "x", "--report-table", "nb201-3ops-small") == 2
    assert "must be of the search table's space" in capsys.readouterr().err
    assert _run(tables, tmp_path / "x", "--report-table", "nb201-cifar10") == 2  # test accuracy only
    assert "has no valid_acc in schedule '12'" in capsys.readouterr().err
    assert _run(tables, tmp_path / "x", "--report-table", tables["b"], "--report-schedule", "3") == 2
    assert "no schedule '3'" in capsys.readouterr().err
    assert not (tmp_path / "x" / "config.json").exists()


def test_report_table_missing_the_incumbents_cell(tables, tmp_path, capsys):
    from nasbench_lab.results import ResultStore

    assert _run(tables, tmp_path / "ok", "--report-table", tables["b"]) == 0
    capsys.readouterr()
    recs = ResultStore(tmp_path / "ok").load("task-a", "random", 3)
    needed = np.unique(np.concatenate([r.incumbent for r in recs]))
    queried_only = np.setdiff1d(np.concatenate([r.arch for r in recs]), needed)
    keep = np.ones(NB201.size, bool)
    keep[queried_only] = False  # B lacks cells that were queried but never the incumbent: fine
    b1 = _partial(tmp_path / "b1.h5", tables["b"], keep, "b-without-others")
    assert _run(tables, tmp_path / "r1", "--report-table", b1) == 0
    capsys.readouterr()
    keep[needed[0]] = False  # now B lacks an incumbent's cell: one line naming it
    b2 = _partial(tmp_path / "b2.h5", tables["b"], keep, "b-without-incumbent")
    assert _run(tables, tmp_path / "r2", "--report-table", b2) == 2
    err = capsys.readouterr().err
    assert f"no entry in schedule '4' for cell {needed[0]} (" in err and "an incumbent of run" in err
    assert len(err.strip().splitlines()) == 1


def test_compare_report_says_table_b(tables, tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["compare", "--table", tables["a"], "--report-table", tables["b"], "--strategies", "random,rea",
                 "--runs", "4", "--budget-queries", "12", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "schedule of table task-b: the search saw only task-a" in text
    summary = json.loads((out / "summary.json").read_text())
    facts = summary["tables"]["task-a"]["facts"]
    with Table(tables["b"]) as b:
        best = int(np.nanargmax(b.lookup("valid_acc", np.arange(b.n_archs), "4")))
        assert facts["report_table"]["content_hash"] == b.content_hash and facts["oracle"]["index"] == best
    assert "every accuracy, regret and oracle in this report is on task-b" in (out / "report.html").read_text()
    assert "--report-table" in json.loads((out / "compare.json").read_text())["command"]
