"""Student files that try to cheat the grader on purpose (random-search exercise), one per attack.

Each entry: name -> (the student file's text, words the failing check's one-line reason must
contain). A file either breaks the grading (exit, loop, forge the report) around a strategy
that would fail anyway, or only works when it reaches test values (then it behaves like the
reference solution, so a grade that lets the route through passes).
Used by tests/test_exercise_sandbox.py and analysis/exercise_attacks_before.py.
"""
from pathlib import Path

SOLUTIONS = Path(__file__).resolve().parent / "exercise_solutions"
GOOD = (SOLUTIONS / "good_random_search.py").read_text()

# a strategy that fails at the first ask (the skeleton's state)
BROKEN = '''
from nasbench_lab.strategies import Ask, Observation, Strategy


class MyRandomSearch(Strategy):
    """Not written yet.

    Parameters:
      max_tries (100): unused.
    """

    name = "my-random"
    defaults = {"max_tries": 100}
    deduplicates = True

    def ask(self):
        raise NotImplementedError("ask() is not written yet")

    def tell(self, ask, obs):
        raise NotImplementedError("tell() is not written yet")
'''


def _good_with(init_code: str = "", ask_code: str = "") -> str:
    """The reference solution with extra lines at the top of __init__ / ask."""
    text = GOOD
    if init_code:
        text = text.replace("        super().__init__(context, rng, **params)\n",
                            "        super().__init__(context, rng, **params)\n" + init_code, 1)
    if ask_code:
        text = text.replace("    def ask(self):\n", "    def ask(self):\n" + ask_code, 1)
    return text


FORGE_OK = '''
from nasbench_lab.exercises import grader as _g
_g.GradeReport.ok = property(lambda self: True)
''' + BROKEN

PATCH_GRADER = '''
import sys
from nasbench_lab.exercises import grader as _g
_add = _g.GradeReport.add
_g.GradeReport.add = lambda self, section, name, status, *a, **k: _add(self, section, name, "pass")
for _m in list(sys.modules.values()):
    if getattr(_m, "GradeReport", None) is not None:
        _m.GradeReport.add = _g.GradeReport.add
''' + BROKEN

SYS_EXIT_IN_ASK = "import sys\n" + _good_with(ask_code="        sys.exit(0)\n")
OS_EXIT_IN_ASK = "import os\n" + _good_with(ask_code="        os._exit(0)\n")
SYSTEMEXIT_AT_IMPORT = "raise SystemExit(0)\n" + GOOD
LOOP_AT_IMPORT = "while True:\n    pass\n" + GOOD
LOOP_IN_ASK = '''import signal, time
signal.signal(signal.SIGALRM, signal.SIG_IGN)   # no alarm can stop the loop below
''' + _good_with(ask_code='''        while True:
            try:
                time.sleep(0.01)
            except BaseException:   # swallow whatever the grader raises to stop us
                pass
''')

GC_ROUTE = "import gc\n" + _good_with(init_code='''        self.test = next((o.report_test for o in gc.get_objects()
                          if type(o).__name__ == "SearchView"), None)
        if self.test is None:
            raise RuntimeError("no test values reachable through gc.get_objects()")
''')

FRAME_ROUTE = "import sys\n" + _good_with(init_code='''        f, self.test = sys._getframe(), None
        while f is not None and self.test is None:
            for v in list(f.f_locals.values()):
                if hasattr(v, "report_test"):
                    self.test = v.report_test
            f = f.f_back
        if self.test is None:
            raise RuntimeError("no test values reachable through the stack frames")
''')

OPEN_TABLE = _good_with(init_code='''        from nasbench_lab.tables import open_table
        self.test = open_table("nb201-3ops-small").lookup("test_acc", [0])
''')

OPEN_H5 = _good_with(init_code='''        import h5py, nasbench_lab
        from pathlib import Path
        p = Path(nasbench_lab.__file__).parent / "data" / "nb201-3ops-small.h5"
        with h5py.File(p, "r") as f:
            names = []
            f.visit(names.append)
            self.test = [f[n][()] for n in names if "test_acc" in n]
        if not self.test:
            raise RuntimeError("no test arrays in the table file")
''')

WRITE_CWD = '''
from pathlib import Path
(Path.cwd() / "sitecustomize.py").write_text("print('RESULT: PASSED')\\n")
(Path.cwd() / "exercise.json").write_text('{"name": "statistics"}')
(Path.cwd() / "grade-report.json").write_text('{"passed": true}')
''' + BROKEN

READ_GRADER_MEMORY = "import os\n" + _good_with(init_code='''        with open(f"/proc/{os.getppid()}/mem", "rb") as f:   # the grader's memory (ptrace rights)
            self.test = f.name
''')
KILL_GRADER = "import os, signal\n" + _good_with(ask_code="        os.kill(os.getppid(), signal.SIGKILL)\n")

# name -> (student file text, words the one-line reason of the failing check contains)
ATTACKS = {
    "forge_report_ok": (FORGE_OK, "not written yet"),
    "monkeypatch_grader": (PATCH_GRADER, "not written yet"),
    "sys_exit_in_ask": (SYS_EXIT_IN_ASK, "end the process"),
    "os_exit_in_ask": (OS_EXIT_IN_ASK, "ended"),
    "systemexit_at_import": (SYSTEMEXIT_AT_IMPORT, "end the process"),
    "loop_at_import": (LOOP_AT_IMPORT, "did not finish"),
    "loop_in_ask": (LOOP_IN_ASK, "did not finish"),
    "gc_test_arrays": (GC_ROUTE, "no test values reachable"),
    "frame_test_arrays": (FRAME_ROUTE, "no test values reachable"),
    "open_table": (OPEN_TABLE, "Permission denied"),
    "open_h5_file": (OPEN_H5, "Permission denied"),
    "write_cwd": (WRITE_CWD, "not written yet"),
    "kill_grader": (KILL_GRADER, "PermissionError"),
    "read_grader_memory": (READ_GRADER_MEMORY, "Permission denied"),
}
# attacks that only Landlock stops (the graded process could otherwise open the package's files
# or signal the grader): their tests need it
NEED_LANDLOCK = {"open_table": 1, "open_h5_file": 1, "kill_grader": 6, "read_grader_memory": 1}
