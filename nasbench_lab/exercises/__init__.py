"""Classroom exercises: `nasbench-lab exercise list | start NAME DIR | grade DIR`.

Each exercise is a folder next to this file (package data, not a Python package) holding
TASK.md (the task text), the student's file to fill in (a strategy skeleton with ask/tell,
or a function skeleton) and grade.py (a two-line script that calls the grader). `start`
copies the folder into the student's DIR and writes `exercise.json` (name and version), so
that `grade DIR` knows what to grade. The grader (grader.py) never trusts anything in DIR
but the student's file: reference data and reference solutions live in the package.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from nasbench_lab import NasbenchError, __version__

HERE = Path(__file__).resolve().parent
EXERCISE_FILE = "exercise.json"


@dataclass(frozen=True)
class Exercise:
    name: str            # what `start` takes
    folder: str          # folder next to this file
    title: str
    student_file: str    # the file the student edits
    kind: str            # "strategy" or "function"
    version: int = 1


EXERCISES: dict[str, Exercise] = {e.name: e for e in (
    Exercise("random-search", "random_search", "random search that never pays twice and stops when the "
             "space is exhausted", "my_strategy.py", "strategy"),
    Exercise("evolution", "evolution", "regularized evolution: tournament selection, mutation, aging",
             "my_strategy.py", "strategy"),
    Exercise("reinforce", "reinforce", "REINFORCE with a moving-average baseline", "my_strategy.py",
             "strategy"),
    Exercise("statistics", "statistics", "decide with a test whether two strategies differ",
             "my_analysis.py", "function"),
    Exercise("landscape", "landscape", "which op matters most? effects of ops from the table",
             "my_analysis.py", "function"),
    Exercise("darts-step", "darts_step", "the DARTS architecture gradient, checked numerically and "
             "by a short real search", "my_darts.py", "function"),
)}


def exercise_names() -> list[str]:
    return list(EXERCISES)


def get_exercise(name: str) -> Exercise:
    try:
        return EXERCISES[name]
    except KeyError:
        raise NasbenchError(f"unknown exercise {name!r}; valid: {', '.join(EXERCISES)}") from None


def exercise_source(ex: Exercise) -> Path:
    return HERE / ex.folder


def start_exercise(name: str, dest) -> Path:
    """Copy exercise `name` into `dest` (created; refused when it exists and is not empty)."""
    ex = get_exercise(name)
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise NasbenchError(f"{dest} exists and is not a folder; choose a new folder for the exercise")
    if dest.is_dir() and any(dest.iterdir()):
        raise NasbenchError(f"{dest} is not empty; refusing to overwrite anything in it: choose a new "
                            "or empty folder")
    src = exercise_source(ex)
    files = sorted(p for p in src.iterdir() if p.is_file() and p.suffix != ".pyc")
    if not files:  # pragma: no cover - a broken install
        raise NasbenchError(f"exercise {name!r} is missing its files ({src}); reinstall nasbench_lab")
    dest.mkdir(parents=True, exist_ok=True)
    for p in files:
        shutil.copy2(p, dest / p.name)
    meta = {"name": ex.name, "version": ex.version, "software_version": __version__,
            "student_file": ex.student_file}
    (dest / EXERCISE_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return dest


def load_exercise(folder) -> tuple[Exercise, dict]:
    """The exercise a started folder holds, from its exercise.json."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NasbenchError(f"{folder} is not a folder; give the folder made by "
                            "`nasbench-lab exercise start NAME DIR`")
    f = folder / EXERCISE_FILE
    if not f.is_file():
        raise NasbenchError(f"{folder} is not an exercise folder (no {EXERCISE_FILE}); start one with "
                            f"`nasbench-lab exercise start NAME DIR` (names: {', '.join(EXERCISES)})")
    try:
        meta = json.loads(f.read_text())
        name = meta["name"]
    except (ValueError, KeyError, TypeError):
        raise NasbenchError(f"{f} is damaged (expected JSON with a 'name'); start the exercise again in a "
                            "new folder and copy your code over") from None
    ex = get_exercise(name)
    if int(meta.get("version", 1)) > ex.version:
        raise NasbenchError(f"{folder} was started with a newer nasbench_lab (exercise {name!r} version "
                            f"{meta.get('version')}); upgrade nasbench_lab to grade it")
    return ex, meta


__all__ = ["EXERCISES", "Exercise", "exercise_names", "get_exercise", "start_exercise", "load_exercise"]
