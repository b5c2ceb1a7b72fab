"""The grader against student code that cheats on purpose (tests/exercise_attacks.py): every attack
ends in a failed grade with a one-line reason and exit status 1, nothing is written where the
grader runs, and the wire between the processes carries plain data only."""
import json
import time

import numpy as np
import pytest

from exercise_attacks import ATTACKS, NEED_LANDLOCK
from nasbench_lab.cli import main
from nasbench_lab.exercises import start_exercise

SMALL = "nb201-3ops-small"
LIMIT = 5  # seconds: the --time-limit of the attacks that loop


def _landlock_abi() -> int:
    import ctypes

    from nasbench_lab.exercises.confine import _abi

    try:
        return _abi(ctypes.CDLL(None, use_errno=True))
    except (OSError, AttributeError):
        return -1


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_attack_fails_the_grade_with_one_line(tmp_path, monkeypatch, capsys, attack):
    text, words = ATTACKS[attack]
    if _landlock_abi() < NEED_LANDLOCK.get(attack, 0):
        pytest.skip(f"{attack} is only stopped where the kernel offers Landlock ABI {NEED_LANDLOCK[attack]}")
    folder, cwd = tmp_path / "ex", tmp_path / "cwd"
    start_exercise("random-search", folder)
    (folder / "my_strategy.py").write_text(text)
    handed_out = sorted(p.name for p in folder.iterdir())
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    args = ["exercise", "grade", str(folder), "--table", SMALL, "--json"]
    if "loop" in attack:
        args += ["--time-limit", str(LIMIT)]
    t0 = time.perf_counter()
    rc = main(args)
    wall = time.perf_counter() - t0
    out, err = capsys.readouterr()
    assert rc == 1, out + err
    report = json.loads(out)
    assert report["passed"] is False
    failed = [i for i in report["items"] if i["status"] == "fail"]
    hit = [i for i in failed if words in i["detail"]]
    assert hit, f"no failure mentions {words!r}: {failed}"
    assert "\n" not in hit[0]["detail"] and "Traceback" not in out + err
    assert list(cwd.iterdir()) == []                              # nothing written where the grader runs
    assert sorted(p.name for p in folder.iterdir()) == handed_out  # nor into the student's folder
    if "loop" in attack:
        assert wall < LIMIT + 10, wall


def test_attack_text_report_ends_with_not_yet(tmp_path, capsys):
    """The plain report of a forged one: the RESULT line says NOT YET, the reason is one line."""
    text, _ = ATTACKS["forge_report_ok"]
    folder = tmp_path / "ex"
    start_exercise("random-search", folder)
    (folder / "my_strategy.py").write_text(text)
    assert main(["exercise", "grade", str(folder), "--table", SMALL]) == 1
    out = capsys.readouterr().out
    assert "RESULT: NOT YET" in out and "not written yet" in out


def test_grading_leaves_no_process_and_no_folder(tmp_path, monkeypatch):
    import os
    import tempfile

    from nasbench_lab.exercises import sandbox
    from nasbench_lab.exercises.grader import grade

    made, pids, real_mkdtemp, real_popen = [], [], tempfile.mkdtemp, sandbox.subprocess.Popen

    def mkdtemp(*a, **k):
        made.append(real_mkdtemp(*a, **k))
        return made[-1]

    def popen(*a, **k):
        proc = real_popen(*a, **k)
        pids.append(proc.pid)
        return proc

    monkeypatch.setattr(sandbox.tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(sandbox.subprocess, "Popen", popen)
    folder = tmp_path / "ex"
    start_exercise("random-search", folder)
    (folder / "my_strategy.py").write_text(ATTACKS["loop_in_ask"][0])
    r = grade(folder, tables=[SMALL], time_limit=3)
    assert not r.ok and r.stopped
    assert made and pids
    assert not any(os.path.exists(d) for d in made)      # the graded process's folder is gone
    for pid in pids:                                     # and the process was killed and reaped
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_time_limit_must_be_positive(tmp_path, capsys):
    folder = tmp_path / "ex"
    start_exercise("landscape", folder)
    assert main(["exercise", "grade", str(folder), "--time-limit", "0"]) == 2
    err = capsys.readouterr().err
    assert "--time-limit" in err and len(err.strip().splitlines()) == 1


def test_wire_carries_plain_data_only():
    from nasbench_lab.exercises import wire
    from nasbench_lab.spaces import Arch
    from nasbench_lab.strategies.base import Ask

    value = {"a": (1, 2.5, float("nan")), "arr": np.arange(6.0).reshape(2, 3), "n": np.int64(3),
             "ask": Ask(Arch("nb201", (0, 1, 2, 3, 4, 0)), None), 7: [True, None, "x"]}
    back = wire.decode(json.loads(json.dumps(wire.encode(value))))
    assert back["a"][:2] == (1, 2.5) and back["a"][2] != back["a"][2]
    assert np.array_equal(back["arr"], value["arr"]) and back["arr"].dtype == np.float64
    assert type(back["n"]) is np.int64 and back["ask"] == value["ask"] and back[7] == [True, None, "x"]
    shown = wire.decode(wire.encode(object()))
    assert isinstance(shown, wire.Opaque) and shown != shown       # never equal to anything
    for bad in ({"py/object": "os.system"}, {"$nd": "O", "shape": [1], "v": [1]},
                {"$np": "object", "v": 1}, {"$nd": "<f8", "shape": [3], "v": [1.0]}):
        with pytest.raises(wire.WireError):
            wire.decode(bad)


FUNCTION_ATTACKS = {
    # exercise, student file text, words in the one-line reason
    "landscape_os_exit": ("landscape", "import os\n\n\ndef op_effects(valid, choices, ops):\n    os._exit(0)\n\n\n"
                          "def most_important_op(valid, choices, ops):\n    os._exit(0)\n", "exit status 0"),
    "landscape_returns_an_object": ("landscape", "class Always:\n    def __eq__(self, other):\n        return True\n\n\n"
                                    "def op_effects(valid, choices, ops):\n    return Always()\n\n\n"
                                    "def most_important_op(valid, choices, ops):\n    return Always()\n",
                                    "Always"),
    "statistics_forges_the_report": ("statistics", "from nasbench_lab.exercises import grader\n"
                                     "grader.GradeReport.ok = property(lambda self: True)\n\n\n"
                                     "def decide(a, b, alpha=0.05):\n    raise NotImplementedError('not written yet')\n",
                                     "not written yet"),
}


@pytest.mark.parametrize("attack", list(FUNCTION_ATTACKS))
def test_function_exercise_attack_fails(tmp_path, capsys, attack):
    """Function exercises: the student's functions run in their own process too, and what they
    return is plain data (an object that claims to equal anything arrives as its repr)."""
    name, text, words = FUNCTION_ATTACKS[attack]
    folder = tmp_path / "ex"
    start_exercise(name, folder)
    (folder / ("my_analysis.py")).write_text(text)
    assert main(["exercise", "grade", str(folder), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    failed = [i for i in report["items"] if i["status"] == "fail"]
    assert not report["passed"] and any(words in i["detail"] and "\n" not in i["detail"] for i in failed), failed
