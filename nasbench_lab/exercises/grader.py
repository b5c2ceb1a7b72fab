"""The autograder behind `nasbench-lab exercise grade DIR` (and each exercise's grade.py).

The student's code never runs in this process: it is imported and called in a process of its
own (sandbox.py) that holds no table and gets no table path; this process holds the tables,
answers the strategy's queries, runs every check and computes the verdict from plain data
(wire.py), so the student's code can neither read test metrics through the grader's memory nor
forge the report or its exit status. A wall-clock limit (--time-limit, default 300 s) covers
the whole grade, the import included; each call into student code has its own shorter limit.

Strategy exercises (random-search, evolution, reinforce; strategy_grade.py), in order, stopping
early only when the student's code cannot run at all:
  1. load: the student's file imports and defines one Strategy subclass;
  2. smoke run: five queries on the small table without an exception;
  3. the conformance suite (nasbench_lab.testing.check_strategy), each failure with a hint;
  4. checks of the exercise's method (method_checks.py: dedup and exhaustion; mutation,
     tournament and aging; policy sampling and the baseline's effect on the update);
  5. performance: many seeded runs of the student's strategy and of the package's reference
     on the small table (and the full built-in table when it is installed and complete, or
     the tables a teacher names), failing only when the student's final validation regret
     is significantly worse (one-sided Mann-Whitney U, p < 0.01) AND worse on average by more
     than a tolerance.
Function exercises (statistics, landscape: function_checks.py; darts-step: darts_checks.py)
call the student's functions on the given data and on hidden cases and compare with the
package's own computation (nasbench_lab.stats, numpy on the table arrays).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.exercises import load_exercise
from nasbench_lab.exercises.function_checks import reference_effects, statistics_data  # noqa: F401
from nasbench_lab.exercises.report import CHECK_HINTS, GradeReport, Item, hint_for  # noqa: F401
from nasbench_lab.exercises.sandbox import DEFAULT_TIME_LIMIT, Clock, GradeTimeout
from nasbench_lab.exercises.strategy_grade import P_LIMIT, TOLERANCE  # noqa: F401

SMALL_TABLE = "nb201-3ops-small"
FULL_TABLE = "nb201-mnist1d"


def default_tables() -> list[str]:
    """The small built-in table, and the full built-in table when it is installed and complete."""
    from nasbench_lab.tables import builtin_tables

    names = [SMALL_TABLE]
    path = builtin_tables().get(FULL_TABLE)
    if path is not None:
        try:
            from nasbench_lab.tables import Table

            with Table(path) as t:
                sch = t.schedule(None).name
                if t.present(sch).any(1).all():
                    names.append(FULL_TABLE)
        except Exception:  # a table still being written, or damaged: grade on the small one
            pass
    return names


def _grade_strategy(report, folder, ex, tables, runs, clock, strategy=None):
    from nasbench_lab.exercises.strategy_grade import grade_strategy

    grade_strategy(report, folder, ex, tables, runs, clock, strategy=strategy)


def _grade_statistics(report, folder, ex, tables, runs, clock):
    from nasbench_lab.exercises.function_checks import grade_statistics

    grade_statistics(report, folder, ex, tables, runs, clock)


def _grade_landscape(report, folder, ex, tables, runs, clock):
    from nasbench_lab.exercises.function_checks import grade_landscape

    grade_landscape(report, folder, ex, tables, runs, clock)


def _grade_darts(report, folder, ex, tables, runs, clock):
    from nasbench_lab.exercises.darts_checks import grade_darts  # the exercise's own checks

    grade_darts(report, folder, ex, tables, runs, clock)


GRADERS = {"random-search": _grade_strategy, "evolution": _grade_strategy, "reinforce": _grade_strategy,
           "statistics": _grade_statistics, "landscape": _grade_landscape, "darts-step": _grade_darts}
STRATEGY_EXERCISES = ("random-search", "evolution", "reinforce")


def grade(folder, *, tables: list[str] | None = None, runs: int | None = None,
          strategy: str | None = None, time_limit: float | None = None) -> GradeReport:
    """Grade the exercise in `folder` (made by `start_exercise`); returns the report.
    `strategy` ('file.py:Class' or 'module:Class'): grade that class instead of the one in the
    exercise's own file (strategy exercises only). `time_limit`: wall seconds for the whole
    grade (default 300); when they run out the grade fails."""
    folder = Path(folder).resolve()
    ex, _meta = load_exercise(folder)
    from nasbench_lab.tables import builtin_tables

    if SMALL_TABLE not in builtin_tables():
        raise NasbenchError(f"the exercises need the small built-in table {SMALL_TABLE!r}, which this install "
                            "lacks; install nasbench_lab from its repository (pip install -e .) or put "
                            f"{SMALL_TABLE}.h5 in a folder named by $NASBENCH_LAB_TABLES")
    if time_limit is not None and not (time_limit > 0 and time_limit < 1e6):
        raise NasbenchError(f"--time-limit must be a number of seconds above 0, got {time_limit}")
    if strategy is not None and ex.name not in STRATEGY_EXERCISES:
        raise NasbenchError(f"--strategy: exercise {ex.name!r} grades functions, not a strategy class")
    report = GradeReport(ex.name, str(folder))
    clock = Clock(time_limit)
    t0 = time.perf_counter()
    np_state = np.random.get_state()
    try:
        if strategy is not None:
            _grade_strategy(report, folder, ex, tables or default_tables(), runs, clock, strategy=strategy)
        else:
            GRADERS[ex.name](report, folder, ex, tables or default_tables(), runs, clock)
    except GradeTimeout as e:
        report.add("Time limit", f"the whole grade within {clock.limit:g} s", "fail",
                   f"grading did not finish: {e}", hint_for(str(e)))
        report.stopped = "the time limit ran out."
    finally:
        np.random.set_state(np_state)
        report.wall_seconds = time.perf_counter() - t0
    return report


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("dir", help="the folder made by `nasbench-lab exercise start NAME DIR`")
    p.add_argument("--table", action="append", dest="tables", metavar="TABLE",
                   help="a table for the performance check (name or path; repeat for several); default: the "
                        "small built-in table, and the full built-in table when it is installed and complete")
    p.add_argument("--runs", type=int, default=None,
                   help="runs per strategy in the performance check (default: 100 on small tables, 40 on large)")
    p.add_argument("--strategy", default=None, metavar="FILE.py:CLASS",
                   help="grade this class (path/to/file.py:ClassName or package.module:ClassName) instead of "
                        "the one in the exercise's own file (strategy exercises)")
    p.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help=f"wall-clock limit for the whole grade, the import of the student's file included "
                        f"(default {DEFAULT_TIME_LIMIT:g}); the grade fails when it runs out")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")


def run_grade(args) -> int:
    if args.runs is not None and args.runs < 5:
        raise NasbenchError(f"--runs must be at least 5, got {args.runs}")
    report = grade(args.dir, tables=args.tables, runs=args.runs, strategy=args.strategy,
                   time_limit=getattr(args, "time_limit", None))
    if args.json:
        print(json.dumps(report.to_dict(), default=str))
    else:
        print(report)
    return 0 if report.ok else 1


def main(argv=None) -> int:
    """Entry point of an exercise folder's grade.py: `python grade.py [--table T] [--json]`."""
    p = argparse.ArgumentParser(prog="grade.py", description="grade a nasbench_lab exercise")
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run_grade(args)
    except NasbenchError as e:
        print(f"grade: error: {e}", file=sys.stderr)
        return 2
