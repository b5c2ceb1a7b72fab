"""analysis/paired_dirs.py: one strategy, two compare folders with the same seed, paired by run."""
import runpy
from pathlib import Path

import pytest

from nasbench_lab.cli import main

SCRIPT = Path(__file__).resolve().parent.parent / "analysis" / "paired_dirs.py"


@pytest.fixture(scope="module")
def folders(tmp_path_factory, synthetic_table_path):
    root = tmp_path_factory.mktemp("paired")
    base = ["--table", str(synthetic_table_path), "--runs", "12", "--budget-queries", "15", "--seed", "3"]
    assert main(["compare", *base, "--strategies", "random,rea", "--out", str(root / "a")]) == 0
    assert main(["compare", *base, "--strategies", "random,rea", "--param", "rea:population=4",
                 "--out", str(root / "b")]) == 0
    return root / "a", root / "b"


def test_same_strategy_same_seed_is_identical_and_a_change_is_tested(folders, capsys):
    mod = runpy.run_path(str(SCRIPT))
    capsys.readouterr()
    assert mod["main"]([str(folders[0]), str(folders[1]), "--strategies", "random,rea"]) == 0
    out = capsys.readouterr().out.splitlines()
    random_row = next(line for line in out if line.startswith("random:"))
    rea_row = next(line for line in out if line.startswith("rea:"))
    assert "(12 runs" in random_row and "; p 1, Holm p 1, A12 0.50" in random_row  # unchanged: equal
    assert "(12 runs" in rea_row and "p 1," not in rea_row  # population 4 vs 10: the runs differ


@pytest.mark.parametrize("args, message", [
    (["{a}"], "give the folders in pairs"),
    (["{a}", "{missing}"], "summary.json not found"),
    (["{a}", "{b}", "--strategies", "nope"], "has no strategy 'nope'"),
    (["{a}", "{bad}"], "is not a compare summary"),
])
def test_bad_input_is_one_line_with_status_2(folders, tmp_path, capsys, args, message):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "summary.json").write_text("{")
    names = {"a": folders[0], "b": folders[1], "missing": tmp_path / "none", "bad": tmp_path / "bad"}
    argv = [a.format(**names) for a in args]
    if "--strategies" not in argv:
        argv += ["--strategies", "rea"]
    mod = runpy.run_path(str(SCRIPT))
    with pytest.raises(SystemExit) as e:
        mod["main"](argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and message in err and err.count("\n") == 1
