"""Bad input to the static proxy baselines, `oneshot`, analysis/paired_dirs.py and anytime plots:
one line, exit status 2, and nothing written that would lock the --out folder."""
import io
import json
import math
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest

from nasbench_lab.cli import main

PAIRED = Path(__file__).resolve().parent.parent / "analysis" / "paired_dirs.py"


def _one_line(capsys, message):
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


# ----- static proxy baselines: a proxy the table lacks is refused before --out is written -------------

@pytest.mark.parametrize("strategy, param, message", [
    ("proxy_rea", "proxy=bogus", "asks for the proxy 'bogus'"),
    ("proxy_random", "proxy=Params", "asks for the proxy 'Params'"),
    ("proxy_random", "proxy=flops", "does not store it"),  # the synthetic table has params, no flops
    ("proxy_bananas", "proxies=params,nope", "asks for the proxy 'nope'"),
])
def test_a_proxy_the_table_lacks_leaves_no_folder(tmp_path, capsys, synthetic_table_path, strategy, param, message):
    out = tmp_path / "runs"
    base = ["run", "--table", str(synthetic_table_path), "--strategy", strategy, "--runs", "2",
            "--budget-queries", "12", "--out", str(out)]
    assert main(base + ["--param", param]) == 2
    _one_line(capsys, message)
    assert not out.exists()  # before the fix: config.json written, so the corrected rerun was refused
    good = "proxies=params" if strategy == "proxy_bananas" else "proxy=params"
    assert main(base + ["--param", good]) == 0


def test_proxy_rea_without_warmup_asks_no_proxy(tmp_path, synthetic_table_path):
    assert main(["run", "--table", str(synthetic_table_path), "--strategy", "proxy_rea", "--param", "proxy=nope",
                 "--param", "warmup=0", "--runs", "1", "--budget-queries", "5", "--out", str(tmp_path / "r")]) == 0


# ----- oneshot: bad input refused before the folder is written ----------------------------------------

@pytest.mark.parametrize("extra, message", [
    (["--seed", "-1"], "--seed must be a non-negative integer"),
    (["--param", "epochs=0"], "epochs and batch_size must be positive"),
    (["--param", "batch_size=100000"], "exceeds half"),
    (["--budget-seconds", "30"], "--budget-seconds is the budget of the --baseline strategies"),
])
def test_oneshot_bad_input_leaves_no_folder(tmp_path, capsys, extra, message):
    out = tmp_path / "os"
    assert main(["oneshot", "rsps", "--table", "nb201-mnist1d", "--runs", "1", "--out", str(out), *extra]) == 2
    _one_line(capsys, message)
    assert not out.exists()


def test_oneshot_out_that_is_a_file(tmp_path, capsys):
    f = tmp_path / "afile"
    f.write_text("someone's notes")
    assert main(["oneshot", "rsps", "--table", "nb201-mnist1d", "--runs", "1", "--param", "epochs=1",
                 "--out", str(f)]) == 2
    _one_line(capsys, "is a file, not a directory")
    assert f.read_text() == "someone's notes"


def test_oneshot_into_a_folder_another_command_writes_is_refused(tmp_path, capsys):
    from nasbench_lab.outpaths import LOCK_NAME, exclusive

    out = tmp_path / "os"
    out.mkdir()
    with exclusive(out / LOCK_NAME, "results"):  # another command holds the folder
        assert main(["oneshot", "rsps", "--table", "nb201-mnist1d", "--runs", "1", "--param", "epochs=1",
                     "--out", str(out)]) == 2
    _one_line(capsys, "is writing one-shot results into")
    assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME]  # nothing written beside it


def test_a_proxy_rea_setting_error_names_proxy_rea(capsys, synthetic_table_path, tmp_path):
    assert main(["run", "--table", str(synthetic_table_path), "--strategy", "proxy_rea", "--param", "population=0",
                 "--runs", "1", "--budget-queries", "5", "--out", str(tmp_path / "r")]) == 2
    _one_line(capsys, "proxy_rea needs population >= 1")


# ----- analysis/paired_dirs.py ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cmp_dirs(tmp_path_factory, synthetic_table_path):
    root = tmp_path_factory.mktemp("paired10")
    base = ["--table", str(synthetic_table_path), "--strategies", "random,rea", "--runs", "8"]
    for name, extra in (("a", ["--seed", "3", "--budget-queries", "15"]),
                        ("b", ["--seed", "3", "--budget-queries", "15", "--param", "rea:population=4"]),
                        ("seed", ["--seed", "4", "--budget-queries", "15"]),
                        ("budget", ["--seed", "3", "--budget-queries", "20"]),
                        ("table", ["--seed", "3", "--budget-queries", "15"])):
        argv = ["compare", *base, *extra, "--out", str(root / name)]
        if name == "table":
            argv[argv.index("--table") + 1] = "nb201-3ops-small"
        assert main(argv) == 0
    return root


def _paired(argv):
    return runpy.run_path(str(PAIRED))["main"](argv)


@pytest.mark.parametrize("other, message", [
    ("seed", "differ in seed 3 vs 4"),
    ("budget", "differ in budget_queries 15 vs 20"),
    ("table", "runs pair only on the same table"),
])
def test_paired_dirs_refuses_folders_that_are_not_paired(cmp_dirs, capsys, other, message):
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        _paired([str(cmp_dirs / "a"), str(cmp_dirs / other), "--strategies", "rea"])
    assert e.value.code == 2
    _one_line(capsys, message)


@pytest.mark.parametrize("argv, message", [
    (["{a}", "{file}", "--strategies", "rea"], "is a file, not a folder"),
    (["{a}", "{b}", "--strategies", "rea,rea"], "distinct strategies"),
    (["{a}", "{tables_list}", "--strategies", "rea"], "is not a compare summary"),
    (["{a}", "{no_metric}", "--strategies", "rea"], "no readable final test values"),
])
def test_paired_dirs_bad_folders_are_one_line(cmp_dirs, tmp_path, capsys, argv, message):
    (tmp_path / "file").write_text("x")
    summary = json.loads((cmp_dirs / "b" / "summary.json").read_text())
    for name, edit in (("tables_list", lambda s: s.__setitem__("tables", [1])),
                       ("no_metric", lambda s: next(iter(s["tables"].values()))["per_run"]["rea"].pop("test"))):
        (tmp_path / name).mkdir()
        s = json.loads(json.dumps(summary))
        edit(s)
        (tmp_path / name / "summary.json").write_text(json.dumps(s))
    names = {"a": cmp_dirs / "a", "b": cmp_dirs / "b", "file": tmp_path / "file",
             "tables_list": tmp_path / "tables_list", "no_metric": tmp_path / "no_metric"}
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        _paired([a.format(**names) for a in argv])
    assert e.value.code == 2
    _one_line(capsys, message)


def test_paired_dirs_drops_runs_without_a_final_value(cmp_dirs, tmp_path, capsys):
    """summary.json writes a run with no final value (no query in the budget) as null."""
    b = tmp_path / "b"
    shutil.copytree(cmp_dirs / "b", b)
    s = json.loads((b / "summary.json").read_text())
    per = next(iter(s["tables"].values()))["per_run"]["rea"]["test"]
    per["0"] = per["5"] = None
    (b / "summary.json").write_text(json.dumps(s))
    capsys.readouterr()
    assert _paired([str(cmp_dirs / "a"), str(b), "--strategies", "rea"]) == 0
    assert "(6 runs, final test)" in capsys.readouterr().out


# ----- anytime plots ----------------------------------------------------------------------------------

def test_anytime_log_scale_with_nothing_positive_draws(recwarn):
    from nasbench_lab.plots import figure_to_base64_png, plot_anytime

    nan = math.nan
    for c in ([nan, nan, nan], [nan, 0.0, nan]):  # no run reached the grid; one point at regret 0
        fig = plot_anytime([1, 2, 3], {"a": (c, c, c)}, "regret", logy=True)
        assert figure_to_base64_png(fig)
        assert fig.axes[0].get_yscale() == "linear"
    fig = plot_anytime([1, 2, 3], {"a": ([nan, 0.5, nan], [nan, 0.1, nan], [nan, 1.0, nan])}, "r", logy=True)
    assert fig.axes[0].get_yscale() == "log"
    fig.savefig(io.BytesIO(), format="png")
    assert not [w for w in recwarn if "log-scaled" in str(w.message)]
    assert np.isfinite(fig.axes[0].get_ylim()).all()


def test_compare_with_a_strategy_that_never_reports_draws_its_pairwise_matrix(tmp_path, capsys, synthetic_table_path):
    """random and rea cannot afford one query in 60 s here, hyperband can: pairs with an empty side
    have no p-value and no A12, and the pairwise figure draws them as not significant."""
    out = tmp_path / "c"
    assert main(["compare", "--table", str(synthetic_table_path), "--strategies", "random,hyperband,rea",
                 "--runs", "6", "--budget-seconds", "60", "--out", str(out)]) == 0
    assert "not enough runs to compare" in capsys.readouterr().out
    assert "pairwise effect sizes" in (out / "report.html").read_text()
