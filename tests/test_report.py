"""report.py: summary.json numbers against statistics recomputed from the stored run files,
the required sections of report.html, several tables, query budgets, `report DIR`."""
import base64
import html
import json
import re
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from nasbench_lab import stats as st
from nasbench_lab.cli import main
from nasbench_lab.tables import Table

SEED = 7


def _strict_json(path: Path) -> dict:
    def no_nan(c):
        raise AssertionError(f"summary.json holds {c}: not strict JSON")

    return json.loads(path.read_text(), parse_constant=no_nan)


def _raw_finals(d: Path, table: str, strategy: str) -> dict[int, dict]:
    """{run: final values} read straight from DIR/results.sqlite with sqlite3 and numpy, without
    nasbench_lab code (the layout documented in nasbench_lab/results.py)."""
    import sqlite3

    out = {}
    with sqlite3.connect(d / "results.sqlite") as con:
        for run, iv, it, t in con.execute("SELECT run, incumbent_valid, incumbent_test, time FROM runs "
                                          "WHERE table_name=? AND strategy=?", (table, strategy)):
            iv, it, t = (np.frombuffer(b, dtype="<f8").tolist() for b in (iv, it, t))
            out[run] = {"valid": iv[-1], "test": it[-1], "time": t, "first": t[0]}
    return out


def _third_strategy():
    from nasbench_lab.strategies import strategy_names

    others = [n for n in strategy_names() if n not in ("random", "rea")]
    for fast in ("local_search", "reinforce"):  # cheap ones first when they exist
        if fast in others:
            return fast
    return others[0] if others else None


@pytest.fixture(scope="module")
def single(synthetic_table_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("single") / "c"
    code = main(["compare", "--table", str(synthetic_table_path), "--strategies", "random,rea", "--runs", "12",
                 "--seed", str(SEED), "--budget-seconds", "2500", "--out", str(out)])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def several(synthetic_table_path, tmp_path_factory):
    from nasbench_lab.tables.synthetic import make_synthetic_table

    base = tmp_path_factory.mktemp("several")
    tables = [str(synthetic_table_path)] + [
        make_synthetic_table(base / "t1.h5", seed=11, name="synthetic-1")]
    strategies = ["random", "rea"] + ([_third_strategy()] if _third_strategy() else [])
    out = base / "c"
    code = main(["compare", "--table", ",".join(map(str, tables)), "--strategies", ",".join(strategies),
                 "--runs", "6", "--seed", "1", "--budget-queries", "12", "--out", str(out)])
    assert code == 0
    return out, strategies


def test_summary_numbers_match_stats_recomputed_from_run_files(single, synthetic_table_path):
    s = _strict_json(single / "summary.json")
    tab = s["tables"]["synthetic-nb201"]
    with Table(synthetic_table_path) as t:
        valid = t.lookup("valid_acc", np.arange(t.n_archs), "12")
        oracle = float(np.nanmax(valid))
        assert tab["facts"]["content_hash"] == t.content_hash
    assert tab["facts"]["oracle"]["valid"] == pytest.approx(oracle)
    raw = {name: _raw_finals(single, "synthetic-nb201", name) for name in ("random", "rea")}
    for name, runs in raw.items():
        assert sorted(runs) == list(range(12))
        test = np.array([runs[r]["test"] for r in sorted(runs)])
        val = np.array([runs[r]["valid"] for r in sorted(runs)])
        f = tab["final"][name]
        assert f["runs"] == 12 and f["test"]["n"] == 12
        assert f["test"]["mean"] == pytest.approx(test.mean())
        assert f["test"]["std"] == pytest.approx(test.std(ddof=1))
        assert f["test"]["median"] == pytest.approx(np.median(test))
        assert f["valid"]["mean"] == pytest.approx(val.mean())
        assert f["regret"]["mean"] == pytest.approx(oracle - val.mean())
        assert f["regret"]["median"] == pytest.approx(np.median(oracle - val))
        assert min(oracle - val) >= 0
        ci = st.summary_table({name: test}, rng=SEED)[name]
        assert (f["test"]["ci_low"], f["test"]["ci_high"]) == pytest.approx((ci["ci_low"], ci["ci_high"]))
        assert f["test"]["ci_low"] <= test.mean() <= f["test"]["ci_high"]
        assert tab["per_run"][name]["test"] == {str(r): pytest.approx(runs[r]["test"]) for r in runs}
        # anytime curves: the last grid point is the budget, where every run has its final value
        grid = np.array(s["anytime"]["synthetic-nb201"]["grid"])
        assert grid[-1] == 2500 and grid[0] == pytest.approx(min(
            v["first"] for rr in raw.values() for v in rr.values()))
        assert s["anytime"]["synthetic-nb201"]["test"][name]["mean"][-1] == pytest.approx(test.mean())
        assert s["anytime"]["synthetic-nb201"]["regret"][name]["mean"][-1] == pytest.approx(oracle - val.mean())
    # the pairwise test, by hand: Wilcoxon signed-rank on the run-paired differences, A12 by counting
    (p,) = tab["pairwise"]
    a = np.array([raw[p["a"]][r]["test"] for r in range(12)])
    b = np.array([raw[p["b"]][r]["test"] for r in range(12)])
    if np.any(a != b):
        ref = sps.wilcoxon(a, b, zero_method="wilcox")
        assert p["p"] == pytest.approx(ref.pvalue) and p["statistic"] == pytest.approx(ref.statistic)
    assert p["p_holm"] == pytest.approx(p["p"])  # one pair: Holm changes nothing
    a12 = np.mean([(x > y) + 0.5 * (x == y) for x in a for y in b])
    assert p["a12"] == pytest.approx(a12) and p["test"] == "wilcoxon-signed-rank"
    assert p["plain"] in s["verdicts"] and p["plain"].startswith("synthetic-nb201: ")
    assert s["setup"]["runs"] == 12 and s["setup"]["seed"] == SEED and s["setup"]["budget_seconds"] == 2500


def test_report_html_has_every_section_and_is_self_contained(single):
    page = (single / "report.html").read_text()
    s = _strict_json(single / "summary.json")
    for anchor in ("verdict", "setup", "table-synthetic-nb201", "anytime-synthetic-nb201",
                   "results-synthetic-nb201", "pairwise-synthetic-nb201", "definitions"):
        assert f'id="{anchor}"' in page, anchor
    assert 'id="cd"' not in page and 'id="across"' not in page  # one table: no ranking across tables
    for needle in ("command line", "nasbench-lab compare --table", "content hash",
                   s["tables"]["synthetic-nb201"]["facts"]["content_hash"], "budget per run",
                   "2500 simulated seconds", "runs per strategy", "nasbench_lab 0.", "search schedule",
                   "report schedule", "Wilcoxon signed-rank", "95% CI"):
        assert needle in page, needle
    for v in s["verdicts"]:
        assert html.escape(v) in page
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(imgs) == 4  # regret, test accuracy, final box plot, pairwise matrix
    # the verdict opens the page: one ranking per table, the pairs folded below
    verdict = page[page.index('id="verdict"'):page.index('id="setup"')]
    assert 'class="rank"' in verdict and "<details>" in verdict
    assert html.escape(s["tables"]["synthetic-nb201"]["headline"]) in verdict
    assert page.count("Wilcoxon signed-rank (paired by run index)") <= 3  # named once per section, not per row
    for b in imgs:
        assert base64.b64decode(b)[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(https?:)?//', page) and "<script" not in page


def test_several_tables_rank_friedman_and_cd(several):
    out, strategies = several
    s = _strict_json(out / "summary.json")
    tables = list(s["tables"])
    assert tables == ["synthetic-nb201", "synthetic-1"]
    acr = s["across_tables"]
    mat = np.array([[s["tables"][t]["final"][k]["test"]["median"] for k in strategies] for t in tables])
    assert np.allclose([[acr["matrix"][t][k] for k in strategies] for t in tables], mat)
    assert [acr["avg_ranks"][k] for k in strategies] == pytest.approx(st.average_ranks(mat).tolist())
    assert acr["cd"] == pytest.approx(st.nemenyi_cd(len(strategies), 2))
    assert [tuple(g) for g in acr["groups"]] == st.cd_groups(acr["avg_ranks"], acr["cd"])
    if len(strategies) >= 3:
        f = st.friedman(mat)
        assert acr["friedman"]["p"] == pytest.approx(f.pvalue)
        assert acr["friedman"]["chi2"] == pytest.approx(f.statistic)
    assert s["verdicts"][-1].startswith("Across 2 tables")
    k = len(strategies)
    for t in tables:  # Holm over all pairs of a table
        pw = s["tables"][t]["pairwise"]
        assert len(pw) == k * (k - 1) // 2
        assert [r["p_holm"] for r in pw] == pytest.approx(st.holm([r["p"] for r in pw]).tolist(), nan_ok=True)
        assert s["tables"][t]["x_axis"] == "queries"
        assert s["anytime"][t]["grid"][0] == 1 and s["anytime"][t]["grid"][-1] == 12
    page = (out / "report.html").read_text()
    assert 'id="across"' in page and 'id="cd"' in page and 'alt="critical difference diagram"' in page
    assert len(re.findall(r'src="data:image/png;base64,', page)) == 2 * 4 + 1


def test_report_regenerates_and_can_switch_the_test(single, capsys, tmp_path):
    import shutil

    d = tmp_path / "copy"
    shutil.copytree(single, d)
    (d / "report.html").unlink()
    code = main(["report", str(d), "--test", "mann-whitney", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and (d / "report.html").is_file()
    (p,) = out["tables"]["synthetic-nb201"]["pairwise"]
    assert p["test"] == "mann-whitney-u"
    raw = {n: _raw_finals(d, "synthetic-nb201", n) for n in (p["a"], p["b"])}
    a = [raw[p["a"]][r]["test"] for r in range(12)]
    b = [raw[p["b"]][r]["test"] for r in range(12)]
    assert p["p"] == pytest.approx(sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    assert "Mann-Whitney U" in (d / "report.html").read_text()
    # the stored runs were only read
    assert _raw_finals(d, "synthetic-nb201", "rea") == _raw_finals(single, "synthetic-nb201", "rea")


def test_report_of_a_run_directory(synthetic_table_path, tmp_path, capsys):
    d = tmp_path / "r"
    assert main(["run", "--table", str(synthetic_table_path), "--strategy", "rea", "--runs", "4",
                 "--budget-queries", "10", "--out", str(d)]) == 0
    capsys.readouterr()
    assert main(["report", str(d)]) == 0
    s = _strict_json(d / "summary.json")
    assert s["verdicts"] == [] and s["tables"]["synthetic-nb201"]["pairwise"] == []
    assert s["setup"]["runs"] == 4 and s["setup"]["command"] is None
    assert "only one strategy, nothing to compare" in (d / "report.html").read_text()


def test_verdict_reads_as_english_and_a12_agrees_with_the_table():
    from nasbench_lab.report import orient, verdict_line

    final = {s: {"test": {"median": m}} for s, m in (("optuna", 96.5), ("rea", 96.1))}
    r = st.PairwiseResult("optuna", "rea", "wilcoxon-signed-rank", 10.0, 0.001, 0.002, 0.62, "small", 200, 200,
                          "optuna", "")
    line = verdict_line("t", r, final, "test", 0.05)
    assert line.startswith("t: optuna beats rea") and "A12(optuna, rea) = 0.62" in line
    assert "of the time" not in line and "96.50% vs 96.10%" in line
    # a pair stored as (rea, optuna) is shown the winner's way round: same A12 in table and sentence
    d = st.PairwiseResult("rea", "optuna", "mann-whitney-u", 15000.0, 0.4, 0.8, 0.38, "medium", 200, 180,
                          None, "").to_dict()
    o = orient(d, "optuna")
    assert (o["a"], o["b"], o["n_a"], o["n_b"]) == ("optuna", "rea", 180, 200)
    assert o["a12"] == pytest.approx(0.62) and o["statistic"] == pytest.approx(200 * 180 - 15000)
    line = verdict_line("t", o, final, "test", 0.05)
    assert "no significant difference between optuna and rea" in line and "A12(optuna, rea) = 0.62" in line


def test_single_table_verdict_ranks_by_median_with_letters(single):
    s = _strict_json(single / "summary.json")
    tab = s["tables"]["synthetic-nb201"]
    med = {k: tab["final"][k]["test"]["median"] for k in tab["ranking"]}
    assert list(med.values()) == sorted(med.values(), reverse=True)
    (p,) = tab["pairwise"]
    same = bool(set(tab["letters"]["random"]) & set(tab["letters"]["rea"]))
    assert same == (p["winner"] is None)
    assert p["a"] == (p["winner"] or tab["ranking"][0])  # oriented: A is the winner or the better median
    assert s["headlines"][0] == tab["headline"] and tab["headline"].startswith("synthetic-nb201: highest median")


@pytest.mark.parametrize("order, different, expected", [
    (["a", "b", "c"], [], {"a": "a", "b": "a", "c": "a"}),
    (["a", "b", "c"], [("a", "c")], {"a": "a", "b": "ab", "c": "b"}),
    (["a", "b", "c"], [("a", "b"), ("a", "c"), ("b", "c")], {"a": "a", "b": "b", "c": "c"}),
    (["a", "b", "c", "d"], [("a", "c"), ("a", "d"), ("b", "d")], {"a": "a", "b": "ab", "c": "bc", "d": "c"}),
])
def test_compact_letters(order, different, expected):
    from nasbench_lab.report import compact_letters

    got = compact_letters(order, different)
    assert got == expected
    for i, x in enumerate(order):  # share a letter exactly when not significantly different
        for y in order[i + 1:]:
            apart = (x, y) in different or (y, x) in different
            assert bool(set(got[x]) & set(got[y])) == (not apart)


def test_report_out_writes_elsewhere(single, tmp_path, capsys):
    import shutil

    d = tmp_path / "copy"
    shutil.copytree(single, d)
    before = (d / "report.html").read_bytes()
    out = tmp_path / "other" / "valid.html"
    assert main(["report", str(d), "--metric", "valid", "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert (d / "report.html").read_bytes() == before  # the compare's report is left alone
    assert _strict_json(out.with_suffix(".json"))["setup"]["metric"] == "valid"
    assert "valid.json" in out.read_text()
