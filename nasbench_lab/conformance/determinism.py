"""The determinism checks: one seed, one trajectory (here, in a fresh process, under any global seed); pickle/resume."""
from __future__ import annotations

import base64
import copy
import json
import os
import pickle
import random
import subprocess
import sys

import numpy as np

from nasbench_lab.conformance import driver
from nasbench_lab.conformance.driver import _RNG_HINT, _continue, _drive, _first_difference, _Spy, _Trace
from nasbench_lab.conformance.results import CheckFailure, CheckSkipped
from nasbench_lab.conformance.tables import FIXTURES


def check_reproducible(cls, params=None) -> None:
    """The same seed gives the identical trajectory (architectures, epochs, observations)."""
    from nasbench_lab.runner import Budget

    t1 = _drive(cls, "nb201", budget=Budget(queries=driver.N_QUERIES), seed=7, run=3, params=params).trajectory()
    t2 = _drive(cls, "nb201", budget=Budget(queries=driver.N_QUERIES), seed=7, run=3, params=params).trajectory()
    if t1 != t2:
        raise CheckFailure("two runs with the same seed differ; "
                           + _first_difference(t1, t2, "run 1", "run 2") + ". " + _RNG_HINT)


def _subprocess_trajectory(cls, params, seed: int, run: int) -> list:
    try:
        blob = base64.b64encode(pickle.dumps((cls, params))).decode()
    except Exception as e:
        raise CheckSkipped(f"{cls.__qualname__} cannot be pickled by reference ({type(e).__name__}: {e}); "
                           "define it at the top level of an importable module to run this check") from None
    if cls.__module__ == "__main__" or "<locals>" in cls.__qualname__:
        raise CheckSkipped(f"{cls.__qualname__} is defined in __main__ or inside a function, so a fresh "
                           "process cannot import it; define it in a module to run this check")
    # a class loaded from a file by reference (--strategy file.py:Class) is loaded the same way there
    from nasbench_lab.strategies import reference_of

    preload = (reference_of(cls) or "") if cls.__module__.startswith("nasbench_lab_user_") else ""
    code = ("import sys, json, pickle, base64\n"
            "from nasbench_lab import testing\n"
            "if sys.argv[3]:\n    from nasbench_lab.strategies import get_strategy; get_strategy(sys.argv[3])\n"
            "cls, params = pickle.loads(base64.b64decode(sys.argv[1]))\n"
            "testing.FIXTURES._paths.update(json.loads(sys.argv[2]))\n"
            "from nasbench_lab.runner import Budget\n"
            f"t = testing._drive(cls, 'nb201', budget=Budget(queries={driver.N_QUERIES}), seed={seed}, run={run}, "
            "params=params)\n"
            "print(json.dumps(t.trajectory()))\n")
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "4321"  # a different string-hash order than most parent processes
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    paths = {"nb201": FIXTURES.path("nb201")}
    proc = subprocess.run([sys.executable, "-c", code, blob, json.dumps(paths), preload], capture_output=True,
                          text=True, env=env, timeout=300)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        raise CheckFailure(f"the run in a fresh Python process failed:\n{tail}")
    return [tuple(x) for x in json.loads(proc.stdout.strip().splitlines()[-1])]


def check_reproducible_subprocess(cls, params=None) -> None:
    """The same seed gives the identical trajectory in a fresh process (other PYTHONHASHSEED)."""
    from nasbench_lab.runner import Budget

    here = _drive(cls, "nb201", budget=Budget(queries=driver.N_QUERIES), seed=11, run=2, params=params).trajectory()
    there = _subprocess_trajectory(cls, params, 11, 2)
    if here != there:
        raise CheckFailure("the same seed gave a different trajectory in a fresh process; "
                           + _first_difference(here, there, "this process", "the fresh process")
                           + ". " + _RNG_HINT)


def check_global_random_state(cls, params=None) -> None:
    """Constructing and running the strategy leaves `random` and `numpy.random` global state
    untouched, and the trajectory does not depend on it."""
    from nasbench_lab.runner import Budget

    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        np.random.seed(1)
        random.seed(1)
        np_before, py_before = np.random.get_state(), random.getstate()
        t1 = _drive(cls, "nb201", budget=Budget(queries=driver.N_QUERIES), seed=3, params=params).trajectory()
        np_after, py_after = np.random.get_state(), random.getstate()
        if not (np_before[0] == np_after[0] and np.array_equal(np_before[1], np_after[1])
                and np_before[2:] == np_after[2:]):
            raise CheckFailure("the strategy changed numpy's global random state (np.random.seed / "
                               "np.random.rand / ... ); " + _RNG_HINT)
        if py_before != py_after:
            raise CheckFailure("the strategy changed the global state of Python's random module; " + _RNG_HINT)
        np.random.seed(2)
        random.seed(2)
        t2 = _drive(cls, "nb201", budget=Budget(queries=driver.N_QUERIES), seed=3, params=params).trajectory()
        if t1 != t2:
            raise CheckFailure("the trajectory depends on the global random state; "
                               + _first_difference(t1, t2, "global seed 1", "global seed 2") + ". " + _RNG_HINT)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)



def check_pickle_resume(cls, params=None) -> None:
    """Pickling the strategy mid-run and resuming from the copy (runner.run_loop on the partial
    record) gives the same trajectory as an uninterrupted run; on a multi-fidelity table."""
    from nasbench_lab.runner import Budget

    n, k = driver.N_QUERIES, 13
    full = _drive(cls, "nb201", budget=Budget(queries=n), seed=5, params=params).trajectory()
    part = _drive(cls, "nb201", budget=Budget(queries=k), seed=5, params=params)
    if part.trajectory() != full[:k]:
        raise CheckFailure("the strategy is not reproducible (see check_reproducible), so a resumed run cannot "
                           "be compared with an uninterrupted one; "
                           + _first_difference(full[:k], part.trajectory(), "run 1", "run 2"))
    try:
        blob = pickle.dumps(part.strat)
    except Exception as e:
        raise CheckFailure(f"pickling the strategy after {k} queries failed ({type(e).__name__}: {e}); keep only "
                           "picklable state (no lambdas, open files, generators or locks)") from e
    try:
        restored = pickle.loads(blob)
    except Exception as e:
        raise CheckFailure(f"unpickling the strategy failed ({type(e).__name__}: {e})") from e
    record = copy.deepcopy(part.record)
    resumed = _Trace(record, _Spy(restored, part.spy.context, part.spy.label), restored, part.view, part.noise_u)
    _continue(resumed, Budget(queries=n), 60.0)
    got = resumed.trajectory()
    if got != full:
        raise CheckFailure(f"pickling after {k} queries and resuming changed the trajectory; "
                           + _first_difference(full, got, "the uninterrupted run", "the resumed run")
                           + ". All state that shapes later asks (including self.rng) must be in the pickle")
