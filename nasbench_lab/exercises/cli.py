"""`nasbench-lab exercise list | start NAME DIR | grade DIR`: the classroom kit."""
from __future__ import annotations

import json


def cmd_list(args) -> int:
    from nasbench_lab.exercises import EXERCISES

    if args.json:
        print(json.dumps([{"name": e.name, "title": e.title, "file": e.student_file} for e in EXERCISES.values()]))
        return 0
    print("exercises (start one with: nasbench-lab exercise start NAME DIR):")
    for e in EXERCISES.values():
        print(f"  {e.name:<14} {e.title}")
    return 0


def cmd_start(args) -> int:
    from nasbench_lab.exercises import get_exercise, start_exercise

    ex = get_exercise(args.name)
    dest = start_exercise(args.name, args.dir)
    print(f"exercise {ex.name!r} ready in {dest}:")
    print(f"  read    {dest / 'TASK.md'}")
    print(f"  edit    {dest / ex.student_file}")
    print(f"  grade   python {dest / 'grade.py'}   (or: nasbench-lab exercise grade {dest})")
    return 0


def cmd_grade(args) -> int:
    from nasbench_lab.exercises.grader import run_grade

    return run_grade(args)


def register(sub) -> None:
    p = sub.add_parser("exercise", help="classroom exercises: list, start NAME DIR, grade DIR",
                       description="Classroom exercises with an autograder.")
    esub = p.add_subparsers(dest="exercise_command", metavar="{list,start,grade}")
    esub.required = True
    s = esub.add_parser("list", help="the exercises and what each is about",
                        description="List the exercises and what each is about.")
    s.add_argument("--json", action="store_true", help="print one JSON list instead")
    s.set_defaults(func=cmd_list)
    s = esub.add_parser("start", help="copy an exercise into a new folder",
                        description="Copy an exercise (task text, skeleton, grade.py) into a new folder.")
    s.add_argument("name", help="exercise name (see `nasbench-lab exercise list`)")
    s.add_argument("dir", help="a new or empty folder")
    s.set_defaults(func=cmd_start)
    s = esub.add_parser("grade", help="grade the exercise in a folder; exit status 1 when a check fails",
                        description="Grade the exercise in a folder: load, correctness and performance checks; "
                                    "exit status 1 when a check fails.")
    from nasbench_lab.exercises.grader import add_arguments

    add_arguments(s)
    s.set_defaults(func=cmd_grade)
