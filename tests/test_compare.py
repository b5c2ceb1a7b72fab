"""`nasbench-lab compare` / `report`: end to end, resume after kill -9, Dask, bad input."""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nasbench_lab.cli import main


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _compare_args(table, out, *extra, strategies="random,rea", runs=6, budget=("--budget-queries", 15)):
    return ["compare", "--table", table, "--strategies", strategies, "--runs", runs, "--seed", 3,
            *budget, "--out", out, *extra]


def _db_rows(d: Path) -> dict:
    """{"table/strategy/run-NNNNN": raw row (meta JSON text, trajectory blobs)} of every stored
    run, read with plain sqlite3 (the layout of nasbench_lab/results.py)."""
    p = d / "results.sqlite"
    if not p.is_file():
        return {}
    con = sqlite3.connect(f"file:{p}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute("SELECT table_name, strategy, run, meta, time, arch, epoch, cost, valid, "
                           "incumbent, incumbent_valid, incumbent_test FROM runs").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return {}
    finally:
        con.close()
    return {f"{t}/{s}/run-{r:05d}": rest for t, s, r, *rest in rows}


def _run_files(d: Path) -> dict:
    """{table/strategy/run-NNNNN: run record without wall-clock fields} of every stored run."""
    import numpy as np

    out = {}
    names = ("time", "arch", "epoch", "cost", "valid", "incumbent", "incumbent_valid", "incumbent_test")
    for key, (meta, *blobs) in sorted(_db_rows(d).items()):
        rec = {"meta": json.loads(meta)}
        rec["meta"].pop("wall_seconds", None)
        for name, b in zip(names, blobs):
            rec[name] = np.frombuffer(b, dtype="<i4" if name in ("arch", "epoch", "incumbent") else "<f8").tolist()
        out[key] = rec
    return out


def _comparable_summary(d: Path) -> dict:
    s = json.loads((d / "summary.json").read_text())
    s.pop("timing")
    s["setup"].pop("out")
    s["setup"].pop("command")
    for tab in s["tables"].values():
        tab["facts"].pop("path")
        for f in tab["final"].values():
            f.pop("wall_seconds_per_run")
    return s


def _snapshot(d: Path) -> dict:
    """Every file's bytes; the database by its rows (a checkpoint may rewrite its pages)."""
    snap = {str(p.relative_to(d)): p.read_bytes() for p in d.rglob("*")
            if p.is_file() and not p.name.startswith("results.sqlite")}
    snap["results.sqlite rows"] = _db_rows(d)
    return snap


def report_html_has_figures(d: Path) -> bool:
    return (d / "report.html").read_text().count('src="data:image/png;base64,') >= 4


@pytest.fixture
def no_figures(monkeypatch):
    """Skip drawing figures where a test is about runs and numbers (test_report checks them)."""
    import nasbench_lab.report as report

    monkeypatch.setattr(report, "make_figures", lambda summary, curves: {})


def test_compare_end_to_end_and_reuse(capsys, synthetic_table_path, tmp_path, monkeypatch):
    out = tmp_path / "c"
    code, stdout, err = run_cli(capsys, *_compare_args(synthetic_table_path, out))
    assert code == 0, err
    assert "verdicts:" in stdout and "synthetic-nb201: " in stdout
    assert ("beats" in stdout) or ("differ significantly" in stdout) or ("not significantly different" in stdout)
    assert "12 new runs" in stdout and str(out / "report.html") in stdout
    for name in ("config.json", "compare.json", "summary.json", "report.html"):
        assert (out / name).is_file(), name
    assert len(_db_rows(out)) == 12
    manifest = json.loads((out / "compare.json").read_text())
    assert manifest["command"].startswith("nasbench-lab compare --table ") and manifest["runs"] == 6
    assert report_html_has_figures(out)
    monkeypatch.setattr("nasbench_lab.report.make_figures", lambda summary, curves: {})  # speed
    before = _run_files(out)
    # same command again: nothing rerun, the same numbers
    summary1 = _comparable_summary(out)
    code, stdout, _ = run_cli(capsys, *_compare_args(synthetic_table_path, out, "--json"))
    d = json.loads(stdout)
    assert code == 0 and d["new_runs"] == 0 and d["verdicts"] and d["metric"] == "test"
    assert set(d["tables"]["synthetic-nb201"]["final"]) == {"random", "rea"}
    assert _run_files(out) == before and _comparable_summary(out) == summary1
    # more runs into the same DIR: only the new ones run
    code, stdout, _ = run_cli(capsys, *_compare_args(synthetic_table_path, out, runs=8))
    assert code == 0 and "4 new runs" in stdout
    # `report` regenerates both files from the stored runs alone
    (out / "report.html").unlink()
    (out / "summary.json").unlink()
    code, stdout, _ = run_cli(capsys, "report", out)
    assert code == 0 and "report regenerated" in stdout and (out / "report.html").is_file()
    assert json.loads((out / "summary.json").read_text())["setup"]["runs"] == 8


def test_workers_and_dask_give_the_same_results(no_figures, capsys, synthetic_table_path, tmp_path):
    args = dict(runs=10, budget=("--budget-seconds", 1500))
    code, _, err = run_cli(capsys, *_compare_args(synthetic_table_path, tmp_path / "one", **args))
    assert code == 0, err
    code, _, err = run_cli(capsys, *_compare_args(synthetic_table_path, tmp_path / "two", "--workers", 2, **args))
    assert code == 0, err
    assert _run_files(tmp_path / "one") == _run_files(tmp_path / "two")
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://", host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        code, out, err = run_cli(capsys, *_compare_args(synthetic_table_path, tmp_path / "dask", "--dask-scheduler",
                                                        cluster.scheduler_address, **args))
    assert code == 0, err
    assert _run_files(tmp_path / "one") == _run_files(tmp_path / "dask")
    assert _comparable_summary(tmp_path / "one") == _comparable_summary(tmp_path / "dask")


def test_killed_compare_loses_and_duplicates_nothing(no_figures, capsys, synthetic_table_path, tmp_path):
    args = _compare_args(synthetic_table_path, None, runs=48, budget=("--budget-seconds", 20000))
    ref, killed = tmp_path / "ref", tmp_path / "killed"
    cmd = [sys.executable, "-m", "nasbench_lab.cli", *[str(a) for a in args]]
    cmd[cmd.index("None")] = str(killed)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None:
        if len(_db_rows(killed)) >= 8:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the compare finished before it could be killed; make it longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _db_rows(killed)  # SIGKILLed mid-write: every stored run is whole (SQLite transactions)
    n_partial = len(partial)
    assert 8 <= n_partial < 96 and not (killed / "report.html").exists()
    code, stdout, err = run_cli(capsys, *[a if a is not None else killed for a in args])
    assert code == 0, err
    assert f"{96 - n_partial} new runs" in stdout
    # nothing stored before the kill was rewritten
    after = _db_rows(killed)
    for name, data in partial.items():
        assert after[name] == data, name
    code, _, err = run_cli(capsys, *[a if a is not None else ref for a in args])
    assert code == 0, err
    got, want = _run_files(killed), _run_files(ref)
    assert len(got) == 96 and got == want
    for name, rec in got.items():  # one row per run index, labelled with it
        assert name.endswith(f"run-{rec['meta']['run']:05d}") and rec["meta"]["strategy"] in name
    assert _comparable_summary(killed) == _comparable_summary(ref)


@pytest.mark.parametrize("extra, match", [
    (["--strategies", "random,nope"], "unknown strategy 'nope'; valid: "),
    (["--strategies", "rea,rea"], "--strategies names rea twice"),
    (["--strategies", "random,"], "comma-separated list without empty items"),
    (["--param", "bananas:x=1"], "is for 'bananas', which is not among the strategies"),
    (["--param", "rea:pop=3"], "has no parameter 'pop'"),
    (["--runs", "0"], "--runs must be a positive integer"),
    (["--runs", "-3"], "--runs must be a positive integer"),
    (["--budget-queries", "0"], "--budget-queries must be a positive integer"),
    (["--budget-seconds", "0"], "--budget-seconds must be a positive number"),
    (["--budget-seconds", "-5"], "--budget-seconds must be a positive number"),
    (["--table", "no-such-table"], "unknown table 'no-such-table'"),
    (["--search-schedule", "200"], "no schedule '200'"),
    (["--workers", "0"], "--workers must be a positive integer"),
    (["--alpha", "1.5"], "--alpha must be in (0, 1)"),
])
def test_bad_input_is_one_line_and_writes_nothing(capsys, synthetic_table_path, tmp_path, extra, match):
    out = tmp_path / "bad"
    args = ["compare", "--table", synthetic_table_path, "--strategies", "random,rea", "--runs", 3,
            "--budget-queries", 5, "--out", out]
    for i in range(0, len(extra), 2):  # later flags replace earlier ones
        if extra[i] in args:
            args[args.index(extra[i]) + 1] = extra[i + 1]
        else:
            args += extra[i:i + 2]
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and match in err, err
    assert err.startswith("nasbench-lab: error:") and err.count("\n") == 1
    assert not out.exists() or not any(out.iterdir())


def test_other_configuration_is_refused_and_nothing_overwritten(no_figures, capsys, synthetic_table_path, tmp_path):
    out = tmp_path / "c"
    code, _, err = run_cli(capsys, *_compare_args(synthetic_table_path, out, runs=3))
    assert code == 0, err
    before = _snapshot(out)
    for extra in (["--seed", 4], ["--strategies", "random"], ["--budget-queries", 16],
                  ["--param", "rea:population=5"]):
        args = _compare_args(synthetic_table_path, out, runs=3)
        if extra[0] in args:
            args[args.index(extra[0]) + 1] = extra[1]
        else:
            args += extra
        code, _, err = run_cli(capsys, *args)
        assert code == 2 and "holds results of another configuration" in err and "nothing was overwritten" in err
        assert _snapshot(out) == before


def test_report_errors(capsys, tmp_path):
    code, _, err = run_cli(capsys, "report", tmp_path)
    assert code == 2 and "holds no nasbench_lab results" in err and err.count("\n") == 1


def test_help_lists_registered_strategies(capsys):
    from nasbench_lab.strategies import strategy_names

    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    out = capsys.readouterr().out
    assert all(n in out for n in strategy_names())


def test_budget_too_small_for_any_query_is_reported_not_a_crash(capsys, synthetic_table_path, tmp_path):
    out = tmp_path / "tiny"
    code, stdout, err = run_cli(capsys, *_compare_args(synthetic_table_path, out, runs=3,
                                                       budget=("--budget-seconds", 1)))
    assert code == 0, err
    assert "3 runs of rea have no final value" in stdout and "not enough runs to compare" in stdout
    assert "No curves" in (out / "report.html").read_text()
