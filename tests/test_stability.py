"""Verdict stability: the pairwise verdicts recomputed on tables resampled from their own seeds."""
import json
import shutil

import numpy as np
import pytest

from nasbench_lab import stats as st
from nasbench_lab.cli import main
from nasbench_lab.report import stability
from nasbench_lab.tables import Table
from nasbench_lab.tables.synthetic import make_synthetic_table


def test_resampled_means_draw_only_the_present_seeds(tmp_path):
    path = make_synthetic_table(tmp_path / "holes.h5", seed=3, missing_fraction=0.6)
    with Table(path) as t:
        sch = t.schedule(None)
        archs = np.arange(0, t.n_archs, 37)
        boot = stability.resampled_means(t, sch.name, "test", archs, 4000, np.random.default_rng(0))
        vals = t.array(sch.name, "test_acc")[archs, :, -1].astype(float)
        present = t.present(sch.name)[archs]
        one = present.sum(1) == 1
        assert one.any() and (~one).any()
        # a cell with one present seed is reported with that seed in every resampled table
        assert np.array_equal(boot[:, one], np.broadcast_to(vals[one, 0], (4000, one.sum())))
        # every resampled value is a mean of present seeds: within their range, centred on their mean
        lo = np.where(present, vals, np.inf).min(1)
        hi = np.where(present, vals, -np.inf).max(1)
        assert np.all((boot >= lo - 1e-9) & (boot <= hi + 1e-9))
        mean = t.lookup("test_acc", archs, sch.name)
        assert np.allclose(boot.mean(0), mean, atol=0.05)
        assert np.all(boot[:, ~one].std(0) > 0)
    # a cell whose seed mean is NaN (a diverged seed) is NaN in every resample, as in the report
    path = make_synthetic_table(tmp_path / "nan.h5", seed=4, nan_fraction=0.2)
    with Table(path) as t:
        sch = t.schedule(None)
        archs = np.arange(0, t.n_archs, 53)
        boot = stability.resampled_means(t, sch.name, "test", archs, 300, np.random.default_rng(1))
        nan = np.isnan(t.lookup("test_acc", archs, sch.name))
        assert nan.any() and np.isnan(boot[:, nan]).all() and not np.isnan(boot[:, ~nan]).any()


@pytest.mark.parametrize("paired", [True, False])
@pytest.mark.parametrize("case", range(8))
def test_vectorised_verdicts_equal_pairwise_tests(case, paired):
    """paired_winners / unpaired_winners (all resamples at once) give, resample by resample,
    the winners of stats.pairwise_tests: ties, zero differences, NaN runs, unequal run sets,
    samples small enough for exact p-values."""
    rng = np.random.default_rng(case)
    n, runs = 40, (30 + 10 * case) if case < 6 else 7 if case == 6 else 60
    values = {}
    for k, s in enumerate(["a", "b", "c", "d"][: 2 + case % 3]):
        x = np.round(rng.normal(0.15 * k * (case % 2), 1.0, (n, runs)), 1)  # rounding: ties and zeros
        if case >= 3:
            x[:, : runs // 3] = 0.0                                          # many zero differences
            x[rng.random((n, runs)) < 0.03] = np.nan                         # NaN in some resamples
        if case == 7:  # 60 columns, 20 of them NaN in every resample: 40 values, below the vectorised size
            x = rng.normal(0.3 * k, 1.0, (n, runs))
            x[:, :20] = np.nan if k == 0 else x[:, :20]
            x[0, 30:32] = 1.25  # one tie in one resample
        r = np.arange(runs) if k != 1 or case != 5 else np.arange(runs) + 5  # unequal run sets
        values[s] = (r, x)
    got = (stability.paired_winners if paired else stability.unpaired_winners)(values, alpha=0.05)
    for i in range(n):
        data = {s: dict(zip(r.tolist(), x[i].tolist())) if paired else x[i] for s, (r, x) in values.items()}
        for res in st.pairwise_tests(data, paired=paired, alpha=0.05):
            assert got[frozenset((res.a, res.b))][i] == res.winner, (i, res)
    assert any(w is not None for ws in got.values() for w in ws) or case % 2 == 0


def _compare(out, table):
    return main(["compare", "--table", str(table), "--strategies", "random,rea,local_search", "--runs", "60",
                 "--seed", "0", "--budget-seconds", "3000", "--out", str(out)])


def test_compare_reports_the_stability_of_its_verdicts(tmp_path, capsys, synthetic_table_path):
    assert _compare(tmp_path / "cmp", synthetic_table_path) == 0
    out = capsys.readouterr().out
    assert "verdict stability: " in out and "tables resampled from the table's own seeds" in out
    s = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    tab = next(iter(s["tables"].values()))
    stab = tab["stability"]
    assert stab["resamples"] == stability.N_RESAMPLES and stab["pairs_tested"] == 3
    shares = [d["stability"] for d in tab["pairwise"]]
    assert all(0.0 <= x <= 1.0 for x in shares)
    assert stab["stable"] == sum(x >= stab["threshold"] for x in shares)
    html = (tmp_path / "cmp" / "report.html").read_text()
    assert "holds in resampled tables" in html and "Verdict stability" in html


def test_unchanged_values_reproduce_every_verdict(tmp_path, capsys, synthetic_table_path, monkeypatch):
    """With each cell's reported value left as it is (no resampling), the recomputed verdicts
    are the report's own: every share is 1."""
    def seed_means(table, schedule, metric, archs, n, rng):
        return np.broadcast_to(table.lookup(f"{metric}_acc", archs, schedule), (n, len(archs)))

    monkeypatch.setattr(stability, "resampled_means", seed_means)
    assert _compare(tmp_path / "cmp", synthetic_table_path) == 0
    tab = next(iter(json.loads((tmp_path / "cmp" / "summary.json").read_text())["tables"].values()))
    assert [d["stability"] for d in tab["pairwise"]] == [1.0] * 3
    assert any(d["winner"] for d in tab["pairwise"])  # the check covers significant verdicts too
    assert main(["report", str(tmp_path / "cmp"), "--test", "mann-whitney"]) == 0  # the unpaired path
    tab = next(iter(json.loads((tmp_path / "cmp" / "summary.json").read_text())["tables"].values()))
    assert [d["stability"] for d in tab["pairwise"]] == [1.0] * 3


def test_a_moved_or_one_seed_table_skips_the_check_with_a_reason(tmp_path, capsys, synthetic_table_path):
    table = tmp_path / "t.h5"
    shutil.copy(synthetic_table_path, table)
    assert _compare(tmp_path / "cmp", table) == 0
    table.unlink()
    capsys.readouterr()
    assert main(["report", str(tmp_path / "cmp")]) == 0
    assert f"verdict stability not computed: the table file {table} is not there any more" in capsys.readouterr().out
    assert main(["compare", "--table", "nb201-cifar10-valid", "--strategies", "random,rea", "--runs", "60",
                 "--budget-seconds", "20000", "--search-schedule", "12", "--report-schedule", "200",
                 "--out", str(tmp_path / "nb")]) == 0
    assert "verdict stability not computed: the table has one training seed per cell" in capsys.readouterr().out
    assert main(["compare", "--table", str(synthetic_table_path), "--strategies", "random,rea", "--runs", "20",
                 "--budget-seconds", "3000", "--out", str(tmp_path / "few")]) == 0
    assert ("verdict stability not computed: it needs more than 50 runs with a final value per strategy "
            "pair (the fewest here: 20)") in capsys.readouterr().out
    # runs whose final cell has a NaN seed mean count as runs without a value
    nan_table = make_synthetic_table(tmp_path / "nan.h5", seed=0, nan_fraction=0.2)
    assert main(["compare", "--table", nan_table, "--strategies", "random,rea", "--runs", "60",
                 "--budget-seconds", "3000", "--out", str(tmp_path / "nan")]) == 0
    s = json.loads((tmp_path / "nan" / "summary.json").read_text())
    tab = next(iter(s["tables"].values()))
    n = min(tab["pairwise"][0]["n_a"], tab["pairwise"][0]["n_b"])
    assert n <= 50 and tab["stability"]["skipped"].endswith(f"(the fewest here: {n})")
