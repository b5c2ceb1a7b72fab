"""Grade this exercise:  python grade.py   (the same as: nasbench-lab exercise grade .)

Prints what passed, what failed and a hint why; the exit status is 0 when everything passed.
"""
import os
import sys

from nasbench_lab.exercises.grader import main

if __name__ == "__main__":
    sys.exit(main([os.path.dirname(os.path.abspath(__file__))] + sys.argv[1:]))
