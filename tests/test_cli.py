import json
import subprocess
import sys

import pytest

from nasbench_lab.cli import main


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_info_and_run_json(capsys, synthetic_table_path, tmp_path):
    code, out, _ = run_cli(capsys, "info", synthetic_table_path, "--json", "--check")
    d = json.loads(out)
    assert code == 0 and d["name"] == "synthetic-nb201" and d["problems"] == []
    assert d["schedules"]["12"]["seeds"] == ["0", "1", "2"]
    code, out, _ = run_cli(capsys, "run", "--table", synthetic_table_path, "--strategy", "rea",
                           "--param", "population=8", "--runs", 5, "--seed", 0, "--budget-queries", 30,
                           "--out", tmp_path / "r", "--json")
    d = json.loads(out)
    assert code == 0 and d["strategy"] == "rea" and d["runs"] == 5 and d["queries_mean"] == 30
    for k in ("mean", "std", "median"):
        assert isinstance(d["valid"][k], float) and isinstance(d["test"][k], float)
    assert "wall_seconds" in d
    code, out, _ = run_cli(capsys, "run", "--table", synthetic_table_path, "--strategy", "rea",
                           "--param", "population=8", "--runs", 5, "--seed", 0, "--budget-queries", 30,
                           "--out", tmp_path / "r")
    assert code == 0 and "5 runs (0 new)" in out


@pytest.mark.parametrize("args, match", [
    (["--strategy", "nope"], "unknown strategy 'nope'; valid: "),
    (["--strategy", "rea", "--param", "pop=3"], "has no parameter 'pop'; valid: population=10, sample_size=3"),
    (["--strategy", "rea", "--param", "population=x"], "must be a int"),
    (["--strategy", "rea", "--runs", "0"], "--runs must be a positive integer"),
    (["--strategy", "rea", "--budget-queries", "-1"], "--budget-queries must be a positive integer"),
    (["--strategy", "rea", "--search-schedule", "200"], "no schedule '200'"),
])
def test_one_line_errors(capsys, synthetic_table_path, tmp_path, args, match):
    base = ["run", "--table", synthetic_table_path, "--runs", "3", "--budget-queries", "5", "--out", tmp_path / "e"]
    code, out, err = run_cli(capsys, *base, *args)
    assert code == 2 and match in err and err.count("\n") == 1 and err.startswith("nasbench-lab: error:")


def test_unknown_table(capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", "--table", "no-such-table", "--strategy", "random",
                           "--budget-queries", 3, "--out", tmp_path)
    assert code == 2 and "unknown table 'no-such-table'" in err
    code, _, err = run_cli(capsys, "info", tmp_path / "missing.h5")
    assert code == 2 and "not found" in err


def test_import_and_tables(capsys, nb201_dir, tmp_path, monkeypatch):
    code, out, _ = run_cli(capsys, "import", "nb201", nb201_dir, "--out", tmp_path / "t" / "nb201-c10.h5")
    assert code == 0 and "imported cifar10-valid" in out
    monkeypatch.setenv("NASBENCH_LAB_TABLES", str(tmp_path / "t"))
    code, out, _ = run_cli(capsys, "tables", "--json")
    names = {r["name"] for r in json.loads(out)}
    assert {"nb201-c10", "nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120"} <= names


def test_console_script_entry_point():
    out = subprocess.run([sys.executable, "-m", "nasbench_lab.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "tables" in out.stdout and "run" in out.stdout
