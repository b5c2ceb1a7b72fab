"""The classroom kit: `nasbench-lab exercise list/start/grade`, and the grader passing each
reference solution (tests/exercise_solutions/good_*.py) and failing typical wrong ones."""
import json
import shutil
from pathlib import Path

import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.cli import main
from nasbench_lab.exercises import EXERCISES, load_exercise, start_exercise
from nasbench_lab.exercises.grader import grade

SOLUTIONS = Path(__file__).resolve().parent / "exercise_solutions"
SMALL = ["nb201-3ops-small"]


def _started(tmp_path, name, solution=None) -> Path:
    d = tmp_path / name
    start_exercise(name, d)
    if solution is not None:
        shutil.copy(SOLUTIONS / f"{solution}.py", d / EXERCISES[name].student_file)
    return d


def _failed(report) -> dict:
    return {i.name: i for i in report.failures}


@pytest.mark.parametrize("name,solution", [
    ("random-search", "good_random_search"), ("evolution", "good_evolution"), ("reinforce", "good_reinforce"),
    ("statistics", "good_statistics"), ("landscape", "good_landscape")])
def test_reference_solutions_pass(tmp_path, name, solution):
    d = _started(tmp_path, name, solution)
    r = grade(d, tables=SMALL)
    assert r.ok, str(r)
    assert r.wall_seconds < 60
    text = str(r)
    assert "RESULT: PASSED" in text
    if EXERCISES[name].kind == "strategy":
        assert "Conformance suite" in text and "Performance against the reference" in text
        assert "one-sided Mann-Whitney U" in text


# (exercise, wrong solution, a check that must fail, words its detail or hint must contain)
WRONG = [
    ("random-search", "wrong_random_no_dedup", "check_no_duplicate_payment", "canonical key"),
    ("random-search", "wrong_random_no_dedup", "each paid once", "already known"),
    ("random-search", "wrong_random_global_rng", "check_global_random_state", "self.rng"),
    ("random-search", "wrong_random_hangs", "check_terminates_tiny_space", "return None"),
    ("evolution", "wrong_evolution_mutation", "mutate(arch) changes exactly one decision", "parent unchanged"),
    ("evolution", "wrong_evolution_no_aging", "every child is one mutation", "died of old age"),
    ("evolution", "wrong_evolution_peeks_test", "5 queries on the small table", "no test metrics"),
    ("reinforce", "wrong_reinforce_no_baseline", "the baseline", "MORE likely"),
    ("statistics", "wrong_statistics_unpaired", "hidden case 1", "Wilcoxon signed-rank"),
    ("landscape", "wrong_landscape", "most_important_op on hidden case 1", "absolute values"),
    ("landscape", "wrong_landscape", "op_effects on hidden case 2", "NaN"),
]


@pytest.fixture(scope="module")
def wrong_reports(tmp_path_factory):
    out = {}
    for name, solution in sorted({(w[0], w[1]) for w in WRONG}):
        d = _started(tmp_path_factory.mktemp(solution), name, solution)
        out[solution] = grade(d, tables=SMALL)
    return out


@pytest.mark.parametrize("name,solution,check,words", WRONG, ids=[f"{w[1]}:{w[2][:30]}" for w in WRONG])
def test_wrong_solutions_fail_with_a_hint(wrong_reports, name, solution, check, words):
    r = wrong_reports[solution]
    assert not r.ok
    hits = [i for i in r.failures if check in i.name]
    assert hits, f"expected a failure of {check!r}:\n{r}"
    assert words in hits[0].detail + hits[0].hint, str(r)
    assert r.wall_seconds < 60, r.wall_seconds
    assert "RESULT: NOT YET" in str(r)


def test_broken_mutation_also_loses_on_performance(wrong_reports):
    failed = [i.name for i in wrong_reports["wrong_evolution_mutation"].failures]
    assert any(n.startswith("nb201-3ops-small") for n in failed), failed


@pytest.mark.parametrize("name", list(EXERCISES))
def test_skeletons_fail_politely(tmp_path, name):
    r = grade(_started(tmp_path, name), tables=SMALL)
    assert not r.ok
    assert any("not written yet" in i.detail and "TODO" in i.hint for i in r.failures), str(r)


def test_cli_list_start_grade(tmp_path, capsys):
    assert main(["exercise", "list"]) == 0
    out = capsys.readouterr().out
    for name in EXERCISES:
        assert name in out
    d = tmp_path / "ex"
    assert main(["exercise", "start", "landscape", str(d)]) == 0
    assert sorted(p.name for p in d.iterdir()) == ["TASK.md", "exercise.json", "grade.py", "my_analysis.py"]
    meta = json.loads((d / "exercise.json").read_text())
    assert meta["name"] == "landscape" and meta["version"] == 1
    assert main(["exercise", "grade", str(d)]) == 1          # the skeleton: not yet
    capsys.readouterr()
    shutil.copy(SOLUTIONS / "good_landscape.py", d / "my_analysis.py")
    assert main(["exercise", "grade", str(d), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["exercise", "start", "no-such", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown exercise 'no-such'" in err and "random-search" in err and len(err.strip().splitlines()) == 1
    d = tmp_path / "mine"
    d.mkdir()
    (d / "work.py").write_text("precious = 1\n")
    assert main(["exercise", "start", "evolution", str(d)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert sorted(p.name for p in d.iterdir()) == ["work.py"]    # nothing overwritten or added
    assert main(["exercise", "grade", str(d)]) == 2
    assert "not an exercise folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    start_exercise("statistics", empty)                           # an empty folder is fine
    assert load_exercise(empty)[0].name == "statistics"
    (empty / "exercise.json").write_text("{not json")
    with pytest.raises(NasbenchError, match="damaged"):
        load_exercise(empty)


def test_grade_py_in_the_folder(tmp_path):
    import subprocess
    import sys

    d = _started(tmp_path, "statistics", "good_statistics")
    p = subprocess.run([sys.executable, str(d / "grade.py")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "RESULT: PASSED" in p.stdout


def test_syntax_error_is_reported(tmp_path):
    d = _started(tmp_path, "evolution")
    (d / "my_strategy.py").write_text("class Broken(:\n")
    r = grade(d, tables=SMALL)
    assert not r.ok and "SyntaxError" in r.failures[0].detail and r.stopped


def test_statistics_data_is_reproducible():
    from nasbench_lab.exercises import HERE
    from nasbench_lab.exercises.grader import statistics_data
    from nasbench_lab.tables import open_table

    shipped = json.loads((HERE / "statistics" / "results.json").read_text())
    if open_table("nb201-3ops-small").content_hash != shipped["table_hash"]:
        pytest.skip("the small table was rebuilt; regenerate statistics/results.json with statistics_data()")
    assert statistics_data() == shipped
