"""Seed noise and ranking reliability of a table (nasbench_lab.tables.resolution)."""
import numpy as np
import pytest

from nasbench_lab.tables import open_table
from nasbench_lab.tables.resolution import below_noise, describe, icc, seed_statistics, table_resolution


def _runs(arch_sd, noise_sd, cells=400, seeds=3, seed=0):
    rng = np.random.default_rng(seed)
    true = 90 + arch_sd * rng.standard_normal(cells)
    return true + noise_sd * rng.standard_normal((seeds, cells))


def test_signal_dominated_runs_rank_well_and_noise_is_measured():
    v = _runs(arch_sd=3.0, noise_sd=0.3)
    s = seed_statistics(v, v)
    assert s["seed_spearman"] > 0.95
    assert s["top_half_spearman"] > 0.85
    assert s["arch_share_top_half"] > 0.8
    assert s["seed_noise"] == pytest.approx(0.3, rel=0.1)


def test_pure_noise_has_no_top_half_ranking_and_no_arch_share():
    v = _runs(arch_sd=0.0, noise_sd=1.0)
    s = seed_statistics(v, v)
    assert abs(s["top_half_spearman"]) < 0.2
    assert abs(s["arch_share"]) < 0.1
    assert s["seed_noise"] == pytest.approx(1.0, rel=0.1)


def test_icc_matches_the_variance_components():
    v = _runs(arch_sd=1.0, noise_sd=1.0, cells=4000)
    assert icc(v) == pytest.approx(0.5, abs=0.05)  # equal arch and seed variance


def test_one_seed_says_it_cannot_measure_noise():
    v = _runs(1.0, 1.0, seeds=1)
    s = seed_statistics(v, v)
    assert "seed_noise" not in s
    assert "cannot measure" in describe(s)
    assert not below_noise(0.01, s)


def test_two_seeds_give_noise_but_no_top_half_statistic():
    v = _runs(1.0, 0.5, seeds=2)
    s = seed_statistics(v, v)
    assert "seed_noise" in s and "top_half_spearman" not in s
    assert "top-half" not in describe(s)


def test_shipped_small_table_resolution_and_noise_note():
    with open_table("nb201-3ops-small") as t:
        r = table_resolution(t)
    assert r["n_seeds"] == 3 and 50 <= r["n_cells"] <= 99
    assert r["seed_noise"] > 1.0          # three short epochs: several points of seed noise
    assert below_noise(0.5, r) and not below_noise(50.0, r)
    assert "seed noise" in describe(r)


def test_info_shows_the_resolution_of_every_schedule(capsys):
    import json

    from nasbench_lab.cli import main

    assert main(["info", "nb201-3ops-small"]) == 0
    out = capsys.readouterr().out
    assert "resolution (over" in out and "seed noise" in out and "top-half Spearman" in out
    assert main(["info", "nb201-3ops-small", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    (r,) = d["resolution"].values()
    assert r["n_seeds"] == 3 and r["seed_noise"] > 0


def test_report_notes_a_difference_below_the_tables_seed_noise(tmp_path):
    import json

    from nasbench_lab.cli import main

    out = tmp_path / "cmp"
    assert main(["compare", "--table", "nb201-3ops-small", "--strategies", "random,rea", "--runs", "12",
                 "--seed", "0", "--budget-queries", "15", "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text())
    (tab,) = s["tables"].values()
    assert tab["facts"]["resolution"]["seed_noise_test"] > 1.0
    (pair,) = tab["pairwise"]
    diff = abs(tab["final"]["random"]["test"]["median"] - tab["final"]["rea"]["test"]["median"])
    assert (diff < tab["facts"]["resolution"]["seed_noise_test"]) == ("seed noise" in pair["plain"])
    assert "resolution" in (out / "report.html").read_text()


def test_noise_note_wording():
    from nasbench_lab.report.ranking import noise_note

    res = {"seed_noise": 1.0, "seed_noise_test": 2.0}
    assert "1.50 points" in noise_note(90.0, 91.5, res, "test")
    assert noise_note(90.0, 91.5, res, "valid") == ""
    assert noise_note(90.0, 90.1, {}, "test") == ""


def test_a_schedule_without_validation_accuracy_has_unknown_resolution():
    class Sched:
        name, metrics, seeds = "12", ("test_acc",), ("0",)

    class FakeTable:
        def schedule(self, name):
            return Sched()

    r = table_resolution(FakeTable())
    assert r["n_cells"] == 0
    assert "unknown" in describe(r) and not below_noise(0.01, r)


# --- figures a table has too few cells for, damaged stored figures, strict JSON ------------------

def _few_cells_table(path, k=4):
    """nb201-3ops-small with every seed present on only `k` distinct cells (seed 0 elsewhere):
    the top-half figures are NaN (two cells), as early in a build."""
    from nasbench_lab.tables.writer import TableWriter

    with open_table("nb201-3ops-small") as t:
        sch = t.schedule("3")
        arrays = {m: np.array(t.array("3", m)) for m in sch.metrics}
        present = np.array(t.present("3"))
        _, first = np.unique(arrays["valid_acc"][:, :, -1], axis=0, return_index=True)
        present[:, 1:] = False
        present[np.sort(first)[:k], :] = True
        for a in arrays.values():
            a[~present] = np.nan
        with TableWriter(path, name="few-cells", space=t.space, dataset=t.dataset, provenance={}) as w:
            w.add_schedule("3", epochs=3, recorded_epochs=[1, 2, 3], seeds=list(sch.seeds))
            for m, a in arrays.items():
                w.write("3", m, a)
            w.set_present("3", present)
    return str(path)


def test_a_table_with_too_few_cells_for_the_top_half_still_gets_a_report(tmp_path, capsys):
    import json

    from nasbench_lab.cli import main

    table = _few_cells_table(tmp_path / "few.h5")
    with open_table(table) as t:
        r = table_resolution(t)
    assert r["n_cells"] == 4 and r["top_half_spearman"] != r["top_half_spearman"]  # NaN
    assert "top-half Spearman n/a" in describe(r) and "nan" not in describe(r)
    assert main(["info", table, "--json"]) == 0
    text = capsys.readouterr().out
    assert "NaN" not in text and json.loads(text)["resolution"]["3"]["top_half_spearman"] is None  # strict JSON
    out = tmp_path / "cmp"
    assert main(["compare", "--table", table, "--strategies", "random,rea", "--runs", "4", "--seed", "0",
                 "--budget-queries", "10", "--out", str(out)]) == 0  # was a TypeError on None:.2f
    assert "top-half Spearman n/a" in (out / "report.html").read_text()


@pytest.mark.parametrize("res,match", [
    ({"n_cells": 99, "n_seeds": 3, "seed_noise": -1.0}, "seed_noise is -1.0, outside [0, 100]"),
    ({"n_cells": 99, "n_seeds": 3, "seed_noise": "big"}, "seed_noise is 'big', not a number"),
    ({"n_cells": "lots", "n_seeds": 3}, "n_cells is 'lots', not a number"),
    ({"n_cells": 99, "n_seeds": 3, "seed_spearman": 3.0}, "seed_spearman is 3.0, outside [-1, 1]"),
    ({"n_cells": 99, "n_seeds": 3, "seed_noise_test": True}, "seed_noise_test is True, not a number"),
    ("hello", "a JSON str, not an object"),
    ([1, 2], "a JSON list, not an object"),
])
def test_a_damaged_resolution_in_compare_json_is_one_line(tmp_path, capsys, res, match):
    import json

    from nasbench_lab.cli import main

    out = tmp_path / "cmp"
    assert main(["compare", "--table", "nb201-3ops-small", "--strategies", "random,rea", "--runs", "3",
                 "--seed", "0", "--budget-queries", "8", "--out", str(out)]) == 0
    page = (out / "report.html").read_text()
    m = json.loads((out / "compare.json").read_text())
    for f in m["table_facts"].values():
        f["resolution"] = res
    (out / "compare.json").write_text(json.dumps(m))
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nasbench-lab: error: ") and err.count("\n") == 1 and match in err, err
    assert (out / "report.html").read_text() == page  # the last good report is kept


def test_unknown_stored_figures_read_as_n_a_not_as_a_crash_or_a_note():
    nan = float("nan")
    for res in ({"n_cells": 99, "n_seeds": 3}, {"n_cells": 99, "n_seeds": 3, "seed_noise": None,
                                                 "seed_noise_test": nan, "seed_spearman": None}):
        assert "seed noise n/a" in describe(res) and not below_noise(0.1, res)
    assert "unknown" in describe("hello") and not below_noise(0.1, [1, 2])
    assert not below_noise(nan, {"seed_noise_test": 2.0}) and not below_noise(0.1, {"seed_noise_test": 0.0})


def test_wording_names_the_test_noise_and_does_not_call_a_seed_mean_one_seed():
    from nasbench_lab.report.ranking import noise_note

    r = {"n_cells": 9, "n_seeds": 3, "seed_noise": 1.0, "seed_noise_test": 2.0, "seed_spearman": 0.5,
         "best_minus_median": 3.0}
    assert "(valid; test 2.00)" in describe(r)  # the figure the report's note compares with
    assert "of test accuracy on this table (2.00 points" in noise_note(90.0, 91.5, r, "test")
    assert "of validation accuracy on this table (1.00 points" in noise_note(90.0, 90.5, r, "valid")
    one = describe({"n_cells": 9, "n_seeds": 1, "best_minus_median": 4.41})
    assert "one seed per cell" not in one and "mean over seeds" in one and "4.41" in one


def test_terminal_summary_says_the_resolution_and_counts_pairs_below_the_noise():
    from nasbench_lab.report.text import _resolution_lines

    res = {"n_cells": 50, "n_seeds": 3, "seed_noise": 1.2, "seed_noise_test": 1.0,
           "seed_spearman": 0.5, "top_half_spearman": 0.3, "arch_share_top_half": 0.2,
           "best_minus_median": 2.0}
    final = {s: {"test": {"median": m}} for s, m in (("a", 90.0), ("b", 89.5), ("c", 87.0))}
    tab = {"facts": {"resolution": res}, "ranking": ["a", "b", "c"], "final": final}
    lines = _resolution_lines(tab, "test")
    assert "seed noise 1.20 points per run (valid; test 1.00)" in lines[0]
    assert "1 of 3 pairs" in lines[1] and "(1.00 points per run)" in lines[1]  # only a-b: 0.5 < 1.0
    tab["facts"]["resolution"] = None
    assert _resolution_lines(tab, "test") == []
    tab["facts"]["resolution"] = {**res, "seed_noise_test": float("nan")}
    assert len(_resolution_lines(tab, "test")) == 1  # noise unknown: no note


def test_terminal_summary_skips_strategies_without_a_final_value():
    from nasbench_lab.report.text import _resolution_lines

    res = {"n_cells": 50, "n_seeds": 3, "seed_noise": 1.2, "seed_noise_test": 1.0}
    final = {"a": {"test": {"median": 90.0}}, "b": {"test": {"median": None}}, "c": {"test": {"median": 89.8}}}
    lines = _resolution_lines({"facts": {"resolution": res}, "ranking": ["a", "b", "c"], "final": final}, "test")
    assert "1 of 3 pairs" in lines[1]  # a-c; the pairs with b (no final value) are not counted
