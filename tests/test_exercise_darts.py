"""The darts-step exercise: the grader passes a correct solution and explains typical errors."""
import shutil
from pathlib import Path

from nasbench_lab.exercises import EXERCISES, start_exercise
from nasbench_lab.exercises.grader import grade

SOLUTIONS = Path(__file__).resolve().parent / "exercise_solutions"


def _started(tmp_path, solution=None):
    d = tmp_path / "darts"
    start_exercise("darts-step", d)
    if solution:
        shutil.copy(SOLUTIONS / f"{solution}.py", d / EXERCISES["darts-step"].student_file)
    return d


def test_good_solution_passes_with_the_search(tmp_path):
    r = grade(_started(tmp_path, "good_darts_step"))
    assert r.ok, str(r)
    text = str(r)
    assert "central differences" in text and "table test accuracy" in text and "RESULT: PASSED" in text


def test_wrong_solution_gets_hints_and_no_search(tmp_path):
    r = grade(_started(tmp_path, "wrong_darts_no_chain_rule"))
    failed = {i.name: i for i in r.failures}
    grad = [i for n, i in failed.items() if n.startswith("gradient on")]
    assert len(grad) == 3 and "chain rule" in grad[0].hint
    assert "You left `none` out" in failed["derive_cell, none wins on two edges"].hint
    assert any(i.status == "skip" for i in r.items if i.section.startswith("Search"))


def test_skeleton_is_not_yet_passing(tmp_path):
    r = grade(_started(tmp_path))
    assert not r.ok and "not written yet" in str(r)
