"""The conformance suite every strategy must pass (in the spirit of scikit-learn's estimator
checks and Optuna's shared sampler tests).

Registering a strategy (`@register`) enrols it: `tests/test_conformance.py` runs every
check below on every registered strategy. A strategy that is known to fail a check declares
it in `expected_failures = {"check_name": "reason"}`; the check is then reported as an
expected failure rather than an error.

    from nasbench_lab.testing import check_strategy
    report = check_strategy(MyStrategy)            # raises ConformanceError on failure
    report = check_strategy("rea", raise_on_failure=False)
    print(report)

The checks run on small fixture tables built once per process in a temporary folder: a
synthetic NB201 table with 12 recorded epochs, a single-fidelity one with failed (NaN)
trainings, and a table over a tiny search space (3 binary decisions, 8 cells, 6 distinct
canonical keys) where deduplicating strategies must run out of cells and stop.
"""
from __future__ import annotations

import atexit
import base64
import contextlib
import copy
import dataclasses
import inspect
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.spaces import Arch, SearchSpace, SpaceError, get_space, register_space
from nasbench_lab.strategies import SearchContext, Strategy, get_strategy, strategy_names
from nasbench_lab.strategies.base import Ask, Observation

# ============================================================================ tiny space


class TinySpace(SearchSpace):
    """3 binary decisions, 8 cells. Decision 2 only matters when decision 0 is 1, so cells
    (0, b, 0) and (0, b, 1) compute the same function: 6 distinct canonical keys."""

    name = "tiny"
    n_decisions = 3
    n_options = 2

    def to_string(self, arch: Arch) -> str:
        return "tiny:" + "".join(map(str, self.check(arch).choices))

    def from_string(self, text: str) -> Arch:
        if not (isinstance(text, str) and text.startswith("tiny:") and len(text) == 8
                and set(text[5:]) <= {"0", "1"}):
            raise SpaceError(f"malformed tiny arch string {text!r}: expected 'tiny:' and 3 binary digits")
        return self.make([int(c) for c in text[5:]])

    def to_index(self, arch: Arch) -> int:
        return sum(c << i for i, c in enumerate(self.check(arch).choices))

    def from_index(self, index: int) -> Arch:
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)) \
                or not 0 <= index < self.size:
            raise SpaceError(f"tiny index must be an integer in 0..{self.size - 1}, got {index!r}")
        return Arch(self.name, tuple((int(index) >> i) & 1 for i in range(3)))

    def canonical_key(self, arch: Arch) -> str:
        a, b, c = self.check(arch).choices
        return f"{a}{b}{c if a == 1 else '-'}"


TINY = register_space(TinySpace())
TINY_EPOCHS = (1, 2, 3, 4)


def make_tiny_table(path) -> str:
    """A table over TinySpace: 2 seeds, epochs 1..4, costs (10 s per epoch per conv-like
    option, 1 s validation pass), no test leakage needed beyond the format."""
    from nasbench_lab.tables import TableWriter

    n, seeds, E = TINY.size, 2, len(TINY_EPOCHS)
    rng = np.random.default_rng(12345)
    ch = np.array([TINY.from_index(i).choices for i in range(n)], dtype=float)
    final = 50 + 10 * ch[:, 0] + 5 * ch[:, 1] + 3 * ch[:, 0] * ch[:, 2]
    ep = np.asarray(TINY_EPOCHS, dtype=float)
    curve = 1 - np.exp(-ep)
    shape = (n, seeds, E)
    valid = 10 + (final[:, None, None] - 10) * curve + rng.normal(0, 0.3, shape)
    test = valid + rng.normal(0, 0.3, shape)
    per_epoch = 10.0 + 5 * ch.sum(1)
    train_time = np.broadcast_to(per_epoch[:, None, None] * ep, shape).copy()
    valid_time = np.ones(shape)
    with TableWriter(path, name="tiny-conformance", space=TINY, dataset="none",
                     provenance={"source": "nasbench_lab.testing tiny fixture"}) as w:
        w.add_schedule("4", epochs=4, recorded_epochs=TINY_EPOCHS, seeds=["0", "1"])
        for m, v in {"valid_acc": valid, "test_acc": test, "train_acc": valid + 2,
                     "valid_loss": (100 - valid) / 40, "test_loss": (100 - test) / 40,
                     "train_loss": (98 - valid) / 40, "train_time": train_time,
                     "valid_time": valid_time, "test_time": valid_time}.items():
            w.write("4", m, v)
        w.set_present("4", np.ones((n, seeds), dtype=bool))
    from nasbench_lab.tables.synthetic import add_synthetic_proxies

    add_synthetic_proxies(path, final, 0.01 + 0.01 * ch.sum(1), 12345)
    return os.fspath(path)


# ============================================================================ fixtures


class _Fixtures:
    """Tables and search views for the checks, built lazily once per process."""

    def __init__(self):
        self.dir: str | None = None
        self._paths: dict[str, str] = {}
        self._views: dict[str, Any] = {}
        self._lock = threading.Lock()

    def path(self, which: str) -> str:
        with self._lock:
            if which not in self._paths:
                if self.dir is None:
                    self.dir = tempfile.mkdtemp(prefix="nasbench-conformance-")
                    atexit.register(shutil.rmtree, self.dir, True)
                from nasbench_lab.tables.synthetic import make_synthetic_table

                p = os.path.join(self.dir, f"{which}.h5")
                if which == "nb201":      # 12 recorded epochs: multi-fidelity
                    make_synthetic_table(p, seed=1, n_seeds=2, epochs=12, name="conf-nb201")
                elif which == "nb201_nan":  # single fidelity, 30% failed trainings, missing seeds
                    make_synthetic_table(p, seed=2, n_seeds=2, epochs=12, recorded=[12], nan_fraction=0.3,
                                         missing_fraction=0.2, name="conf-nb201-nan")
                elif which == "nb201_single":
                    make_synthetic_table(p, seed=3, n_seeds=2, epochs=12, recorded=[12], name="conf-nb201-12")
                elif which == "tiny":
                    make_tiny_table(p)
                else:
                    raise KeyError(which)
                self._paths[which] = p
            return self._paths[which]

    def view(self, which: str):
        if which not in self._views:
            from nasbench_lab.runner import SearchView
            from nasbench_lab.tables import Table

            self._views[which] = SearchView(Table(self.path(which)), None, None)
        return self._views[which]


FIXTURES = _Fixtures()

# ============================================================================ results


class CheckFailure(AssertionError):
    """A conformance check failed; the message says what was expected and what happened."""


class CheckSkipped(Exception):
    """The check does not apply to this strategy (the message says why)."""


class ConformanceError(AssertionError):
    def __init__(self, report: "ConformanceReport"):
        super().__init__(str(report))
        self.report = report


@dataclass
class CheckResult:
    check: str
    status: str   # passed, failed, xfail (expected failure), xpass, skipped
    message: str = ""


@dataclass
class ConformanceReport:
    strategy: str
    results: list = field(default_factory=list)

    @property
    def failures(self) -> list:
        return [r for r in self.results if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        icon = {"passed": "PASS ", "failed": "FAIL ", "xfail": "XFAIL", "xpass": "XPASS", "skipped": "SKIP "}
        n_fail = len(self.failures)
        head = (f"conformance of strategy {self.strategy!r}: "
                + ("all checks passed" if not n_fail else f"{n_fail} of {len(self.results)} checks FAILED"))
        lines = [head]
        for r in self.results:
            lines.append(f"  {icon[r.status]} {r.check}")
            if r.message and r.status != "passed":
                lines.extend("        " + ln for ln in r.message.splitlines())
        return "\n".join(lines)


# ============================================================================ driving


def _resolve(strategy) -> type[Strategy]:
    if isinstance(strategy, str):
        return get_strategy(strategy)
    if inspect.isclass(strategy) and issubclass(strategy, Strategy):
        return strategy
    raise TypeError(f"check_strategy needs a registered strategy name or a Strategy subclass, got {strategy!r}")


def _label(cls) -> str:
    return f"{cls.name or cls.__name__!s} ({cls.__module__}.{cls.__qualname__})"


class TimeLimit(Exception):
    """Raised by `deadline` when the time is up."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Raise TimeLimit in the main thread after `seconds` (no-op elsewhere / on Windows)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def handler(signum, frame):
        raise TimeLimit()

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class _Spy:
    """Wraps a strategy for run_loop: validates every ask, records asks and observations."""

    def __init__(self, strat: Strategy, context: SearchContext, label: str):
        self.strat = strat
        self.context = context
        self.label = label
        self.asks: list = []
        self.obs: list = []
        self.returned_none = False

    def ask(self):
        n = len(self.asks)
        when = "the first ask()" if n == 0 else f"ask() #{n + 1} (after {len(self.obs)} tells)"
        try:
            a = self.strat.ask()
        except TimeLimit:
            raise
        except Exception as e:
            hint = ""
            if isinstance(e, SpaceError):
                sp = self.context.space
                hint = (f" (this check searches the space {sp.name!r}: {sp.n_decisions} decisions of "
                        f"{sp.n_options} options; use self.space.sample/mutate/make and self.space.n_decisions, "
                        "never NB201's constants)")
            raise CheckFailure(f"{when} raised {type(e).__name__}: {e}{hint}") from e
        if a is None:
            self.returned_none = True
            return None
        _validate_ask(a, self.context, when)
        self.asks.append(a)
        return a

    def tell(self, ask, obs):
        if isinstance(obs, Observation):  # a zero-cost proxy's answer (proxy_asks.py) is not a query
            self.obs.append(obs)
        try:
            self.strat.tell(ask, obs)
        except TimeLimit:
            raise
        except Exception as e:
            raise CheckFailure(f"tell() #{len(self.obs)} raised {type(e).__name__}: {e} "
                               f"(observation: valid_acc={obs.valid_acc}, epoch={obs.epoch})") from e


def _validate_ask(a, context: SearchContext, when: str) -> None:
    space = context.space
    if not isinstance(a, Ask):
        raise CheckFailure(f"{when} returned {type(a).__name__} {a!r}; it must return "
                           "nasbench_lab.strategies.Ask(arch, epoch=None) or None")
    arch = a.arch
    if not isinstance(arch, Arch):
        raise CheckFailure(f"{when} returned Ask(arch={arch!r}): arch must be an Arch; build one with "
                           "self.space.make(choices) or self.space.sample(self.rng)")
    if arch.space != space.name:
        raise CheckFailure(f"{when} returned an architecture of space {arch.space!r}, but the search "
                           f"space is {space.name!r}: use self.space, not a fixed space")
    try:
        space.make(arch.choices)
    except SpaceError as e:
        raise CheckFailure(f"{when} returned an invalid architecture: {e}") from None
    if not all(type(c) is int for c in arch.choices):
        raise CheckFailure(f"{when} returned choices {arch.choices!r} that are not plain ints "
                           "(numpy integers make architectures compare and hash unreliably); "
                           "use space.make(...)")
    if a.epoch is not None and (type(a.epoch) is not int or a.epoch not in context.fidelities):
        raise CheckFailure(f"{when} asked for epoch {a.epoch!r}, which the search schedule does not "
                           f"record; valid epochs: {list(context.fidelities)} (or None for the last)")


@dataclass
class _Trace:
    record: Any
    spy: _Spy
    strat: Strategy
    view: Any
    noise_u: np.ndarray

    def trajectory(self) -> list:
        r = self.record
        return [(int(a), int(e), None if v != v else round(float(v), 6)) for a, e, v in
                zip(r.arch, r.epoch, r.valid)]


def _start(cls, view, *, seed: int, run: int, params: dict | None, budget):
    from nasbench_lab.runner import RunRecord

    strategy_ss, noise_ss = np.random.SeedSequence([int(seed), int(run)]).spawn(2)
    noise_u = np.random.default_rng(noise_ss).random(view.table.n_archs)
    context = SearchContext(space=view.table.space, fidelities=view.search.recorded_epochs,
                            max_queries=budget.queries, max_seconds=budget.seconds)
    try:
        strat = cls(context, np.random.default_rng(strategy_ss), **(params or {}))
    except Exception as e:
        raise CheckFailure(f"constructing {cls.__name__}(context, rng{', **params' if params else ''}) raised "
                           f"{type(e).__name__}: {e}") from e
    record = RunRecord(meta={"strategy": cls.name or cls.__name__, "seed": seed, "run": run})
    return strat, context, noise_u, record


def _continue(trace: _Trace, budget, time_limit: float) -> None:
    from nasbench_lab.runner import run_loop

    try:
        with deadline(time_limit):
            run_loop(trace.spy, trace.view, trace.noise_u, budget, trace.record)
    except TimeLimit:
        raise CheckFailure(
            f"the run did not finish within {time_limit:g} s of wall time after {len(trace.spy.asks)} "
            f"asks (budget: {budget}); a loop in ask() that looks for an unseen architecture may never "
            "end once the space is exhausted: return None from ask() instead") from None
    except CheckFailure:
        raise
    except NasbenchError as e:
        raise CheckFailure(f"the runner rejected the strategy's query: {e}") from e


def _drive(cls, which: str, *, budget, seed: int = 0, run: int = 0, params=None,
           time_limit: float = 60.0) -> _Trace:
    view = FIXTURES.view(which)
    strat, context, noise_u, record = _start(cls, view, seed=seed, run=run, params=params, budget=budget)
    trace = _Trace(record, _Spy(strat, context, _label(cls)), strat, view, noise_u)
    _continue(trace, budget, time_limit)
    return trace


def _first_difference(t1: list, t2: list, what1: str, what2: str) -> str:
    for i, (a, b) in enumerate(zip(t1, t2)):
        if a != b:
            return (f"first difference at query {i + 1}: {what1} queried arch {a[0]} at epoch {a[1]} "
                    f"(valid {a[2]}), {what2} queried arch {b[0]} at epoch {b[1]} (valid {b[2]})")
    return f"{what1} made {len(t1)} queries, {what2} made {len(t2)}"


_RNG_HINT = ("draw every random number from self.rng (the numpy Generator the strategy was given); "
             "do not use the random module, np.random.* functions, unseeded generators, "
             "or iteration order of sets of strings (it changes between processes)")

# ============================================================================ the checks

N_QUERIES = 30
TINY_TIME_LIMIT = 30.0  # wall seconds a run on the tiny space may take before it counts as hung


def check_parameters_documented(cls, params=None) -> None:
    """`name`, `defaults` (every parameter documented in the docstring), construction with the
    defaults, rejection of unknown parameters, well-formed `expected_failures`."""
    if not isinstance(cls.name, str) or not cls.name:
        raise CheckFailure(f"{cls.__qualname__} must set a class attribute `name = \"...\"` (non-empty)")
    if not isinstance(cls.defaults, dict) or not all(isinstance(k, str) for k in cls.defaults):
        raise CheckFailure(f"{cls.__qualname__}.defaults must be a dict of parameter name -> default value")
    doc = inspect.getdoc(cls) or ""
    missing = [k for k in cls.defaults if k not in doc]
    if missing:
        raise CheckFailure(f"parameter(s) {', '.join(map(repr, missing))} of {cls.__qualname__} are not "
                           "mentioned in its docstring: document every parameter and its default")
    if not isinstance(cls.expected_failures, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in cls.expected_failures.items()):
        raise CheckFailure("expected_failures must map a check name to a non-empty reason string")
    unknown = sorted(set(cls.expected_failures) - set(CHECKS))
    if unknown:
        raise CheckFailure(f"expected_failures names unknown check(s) {', '.join(unknown)}; "
                           f"valid: {', '.join(CHECKS)}")
    ctx = SearchContext(space=get_space("nb201"), fidelities=(1, 2, 3))
    try:
        s = cls(ctx, np.random.default_rng(0), **(params or {}))
    except Exception as e:
        raise CheckFailure(f"{cls.__qualname__}(context, rng) with default parameters raised "
                           f"{type(e).__name__}: {e}") from e
    try:
        cls(ctx, np.random.default_rng(0), no_such_parameter_xyz=1)
    except NasbenchError:
        pass
    except Exception as e:
        raise CheckFailure(f"an unknown parameter should raise NasbenchError (Strategy.__init__ does "
                           f"this: call super().__init__(context, rng, **params)); got "
                           f"{type(e).__name__}: {e}") from e
    else:
        raise CheckFailure("an unknown parameter was accepted silently; pass **params to "
                           "super().__init__(context, rng, **params), which rejects it")
    if getattr(s, "params", None) is None or set(s.params) != set(cls.defaults):
        raise CheckFailure("self.params must hold every parameter (defaults merged with overrides); "
                           "call super().__init__(context, rng, **params)")


def check_ask_valid(cls, params=None) -> None:
    """Every ask, the first one (before any tell) and all later ones, returns an Ask with a valid
    architecture of the search space and an epoch the schedule records (or None)."""
    from nasbench_lab.runner import Budget

    t = _drive(cls, "nb201", budget=Budget(queries=N_QUERIES), params=params)
    if not t.spy.asks:
        raise CheckFailure("the first ask() returned None on a fresh NB201 search: a strategy should "
                           "ask for something before it has seen any observation")


def check_query_budget_exact(cls, params=None) -> None:
    """A budget of Q queries gives exactly Q records (the space is far from exhausted)."""
    from nasbench_lab.runner import Budget

    q = 25
    t = _drive(cls, "nb201", budget=Budget(queries=q), params=params)
    if t.record.n_queries != q:
        raise CheckFailure(f"a budget of {q} queries gave {t.record.n_queries} records: ask() returned None "
                           f"after {t.record.n_queries} queries although NB201 has 15625 cells; return None "
                           "only when nothing is left to ask")


def check_reproducible(cls, params=None) -> None:
    """The same seed gives the identical trajectory (architectures, epochs, observations)."""
    from nasbench_lab.runner import Budget

    t1 = _drive(cls, "nb201", budget=Budget(queries=N_QUERIES), seed=7, run=3, params=params).trajectory()
    t2 = _drive(cls, "nb201", budget=Budget(queries=N_QUERIES), seed=7, run=3, params=params).trajectory()
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
            f"t = testing._drive(cls, 'nb201', budget=Budget(queries={N_QUERIES}), seed={seed}, run={run}, "
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

    here = _drive(cls, "nb201", budget=Budget(queries=N_QUERIES), seed=11, run=2, params=params).trajectory()
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
        t1 = _drive(cls, "nb201", budget=Budget(queries=N_QUERIES), seed=3, params=params).trajectory()
        np_after, py_after = np.random.get_state(), random.getstate()
        if not (np_before[0] == np_after[0] and np.array_equal(np_before[1], np_after[1])
                and np_before[2:] == np_after[2:]):
            raise CheckFailure("the strategy changed numpy's global random state (np.random.seed / "
                               "np.random.rand / ... ); " + _RNG_HINT)
        if py_before != py_after:
            raise CheckFailure("the strategy changed the global state of Python's random module; " + _RNG_HINT)
        np.random.seed(2)
        random.seed(2)
        t2 = _drive(cls, "nb201", budget=Budget(queries=N_QUERIES), seed=3, params=params).trajectory()
        if t1 != t2:
            raise CheckFailure("the trajectory depends on the global random state; "
                               + _first_difference(t1, t2, "global seed 1", "global seed 2") + ". " + _RNG_HINT)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def check_time_monotone(cls, params=None) -> None:
    """Under a time budget the simulated clock never goes backwards, costs are >= 0, the
    budget is never exceeded, and the times the strategy is told match the record."""
    from nasbench_lab.runner import Budget

    budget = Budget(seconds=5000.0)
    t = _drive(cls, "nb201", budget=budget, params=params)
    times = t.record.time.tolist()
    if any(c < 0 for c in t.record.cost):
        raise CheckFailure(f"a query was charged a negative cost: {min(t.record.cost)}")
    for i in range(1, len(times)):
        if times[i] < times[i - 1]:
            raise CheckFailure(f"the simulated clock went backwards at query {i + 1}: "
                               f"{times[i - 1]} -> {times[i]}")
    if times and times[-1] > budget.seconds:
        raise CheckFailure(f"the clock ended at {times[-1]} s, past the budget of {budget.seconds} s")
    told = [o.time for o in t.spy.obs]
    if told != times:
        raise CheckFailure("the times in the observations told to the strategy differ from the record")


def check_incumbent_monotone(cls, params=None) -> None:
    """The incumbent (best observed validation accuracy so far) never gets worse, and is an
    architecture that was actually queried."""
    from nasbench_lab.runner import Budget

    t = _drive(cls, "nb201_nan", budget=Budget(queries=N_QUERIES), params=params)
    r = t.record
    best = float("-inf")
    for i, (inc, v) in enumerate(zip(r.incumbent, r.valid)):
        s = float("-inf") if v != v else v
        best = max(best, s)
        if inc not in r.arch[:i + 1]:
            raise CheckFailure(f"after query {i + 1} the incumbent {inc} was never queried")
        inc_obs = max((float("-inf") if vv != vv else vv) for a, vv in zip(r.arch[:i + 1], r.valid[:i + 1])
                      if a == inc)
        if inc_obs < best:
            raise CheckFailure(f"after query {i + 1} the incumbent's observed validation accuracy "
                               f"{inc_obs} is below the best observed {best}: the incumbent got worse")


def check_nan_observations(cls, params=None) -> None:
    """Failed trainings (NaN validation accuracy and losses) are told without crashing, and
    the strategy keeps asking valid queries afterwards."""
    from nasbench_lab.runner import Budget

    t = _drive(cls, "nb201_nan", budget=Budget(queries=N_QUERIES), params=params)
    n_nan = sum(1 for o in t.spy.obs if o.valid_acc != o.valid_acc)
    if n_nan == 0:
        raise CheckSkipped("no NaN observation came up in this run (fixture too lucky)")
    if t.record.n_queries < N_QUERIES:
        raise CheckFailure(f"after {n_nan} NaN observations the strategy stopped asking at query "
                           f"{t.record.n_queries} of {N_QUERIES}; treat NaN as the worst score")


def check_single_fidelity(cls, params=None) -> None:
    """On a schedule that records one epoch only (NAS-Bench-201's "12"), the strategy runs and
    asks only for that epoch."""
    from nasbench_lab.runner import Budget

    t = _drive(cls, "nb201_single", budget=Budget(queries=N_QUERIES), params=params)
    if t.record.n_queries != N_QUERIES:
        raise CheckFailure(f"with a single fidelity the strategy stopped after {t.record.n_queries} of "
                           f"{N_QUERIES} queries; a multi-fidelity method must still work with one epoch")


def _tiny_budget():
    from nasbench_lab.runner import Budget

    view = FIXTURES.view("tiny")
    full = float(np.nanmax(view.metrics["train_time"][:, :, -1] + view.metrics["valid_time"][:, :, -1], axis=1).sum())
    return Budget(seconds=3 * full, queries=5000)


def check_terminates_tiny_space(cls, params=None) -> None:
    """On a space of 8 cells (6 distinct) with a budget 3 times what training everything
    costs, the run ends (by ask() returning None or by the budget) without error or hang."""
    budget = _tiny_budget()
    t = _drive(cls, "tiny", budget=budget, params=params, time_limit=TINY_TIME_LIMIT)
    if t.record.n_queries >= budget.queries:
        raise CheckFailure(f"on a space of {TINY.size} cells the strategy made {budget.queries} queries without "
                           "the run ending; return None from ask() when nothing is left")


def check_no_duplicate_payment(cls, params=None) -> None:
    """For strategies that declare `deduplicates = True`: on the tiny space, no canonical key
    is paid for twice (one architecture per key, never twice at the same epoch), every key
    gets queried, and ask() returns None once the space is exhausted."""
    if not getattr(cls, "deduplicates", False):
        raise CheckSkipped("the strategy does not declare `deduplicates = True`")
    t = _drive(cls, "tiny", budget=_tiny_budget(), params=params, time_limit=TINY_TIME_LIMIT)
    space = t.view.table.space
    by_key: dict = {}
    seen_pairs: set = set()
    for i, (idx, ep) in enumerate(zip(t.record.arch, t.record.epoch)):
        arch = space.from_index(idx)
        k = space.canonical_key(arch)
        first = by_key.setdefault(k, idx)
        if first != idx:
            raise CheckFailure(f"query {i + 1} paid for {space.to_string(arch)}, which computes the same function "
                               f"(canonical key {k!r}) as the already queried {space.to_string(space.from_index(first))}")
        if (idx, ep) in seen_pairs:
            raise CheckFailure(f"query {i + 1} asked again for {space.to_string(arch)} at epoch {ep}, already "
                               "observed: reuse the earlier observation instead of paying again")
        seen_pairs.add((idx, ep))
    all_keys = {space.canonical_key(a) for a in space.all_archs()}
    if not t.spy.returned_none:
        raise CheckFailure(f"the run on the tiny space ended by the budget after {t.record.n_queries} queries; "
                           f"ask() should return None once all {len(all_keys)} distinct cells were queried")
    if set(by_key) != all_keys:
        raise CheckFailure(f"ask() returned None after querying {len(by_key)} of the {len(all_keys)} distinct "
                           f"cells; return None only when every canonical key has been queried "
                           f"(missing: {sorted(all_keys - set(by_key))})")


_FORBIDDEN_TYPES: tuple = ()


def _forbidden_types() -> tuple:
    global _FORBIDDEN_TYPES
    if not _FORBIDDEN_TYPES:
        from nasbench_lab.runner import SearchView
        from nasbench_lab.tables.table import QueryResult, Table

        types = [Table, SearchView, QueryResult]
        try:
            import h5py

            types += [h5py.File, h5py.Dataset, h5py.Group]
        except ImportError:  # pragma: no cover
            pass
        _FORBIDDEN_TYPES = tuple(types)
    return _FORBIDDEN_TYPES


def _find_forbidden(obj, path: str = "strategy", depth: int = 0, seen=None):
    seen = set() if seen is None else seen
    if id(obj) in seen or depth > 6 or len(seen) > 20000:
        return None
    seen.add(id(obj))
    if isinstance(obj, _forbidden_types()):
        return path, type(obj).__name__
    if isinstance(obj, (str, bytes, int, float, bool, type(None), np.ndarray, np.generic)):
        return None
    if isinstance(obj, dict):
        items = [(f"{path}[{k!r}]", v) for k, v in list(obj.items())[:5000]]
    elif isinstance(obj, (list, tuple, set, frozenset)) or type(obj).__name__ == "deque":
        items = [(f"{path}[{i}]", v) for i, v in enumerate(list(obj)[:5000])]
    elif hasattr(obj, "__dict__") and not inspect.ismodule(obj) and not inspect.isclass(obj):
        items = [(f"{path}.{k}", v) for k, v in vars(obj).items()]
    else:
        return None
    for p, v in items:
        hit = _find_forbidden(v, p, depth + 1, seen)
        if hit:
            return hit
    return None


@contextlib.contextmanager
def _tables_sealed():
    """While a strategy runs, any read through a Table (the runner reads its arrays up front)
    raises: a strategy that opens a table itself to peek at test metrics is caught."""
    from nasbench_lab.tables.table import Table

    names = ("__init__", "query", "lookup", "array", "value", "static")
    saved = {n: Table.__dict__[n] for n in names}

    def blocked(name):
        def f(*a, **k):
            raise CheckFailure(f"the strategy called Table.{name}(): strategies must not read tables "
                               "(test metrics would leak); use only the Observations given to tell()")
        return f

    try:
        for n in names:
            setattr(Table, n, blocked(n))
        yield
    finally:
        for n, f in saved.items():
            setattr(Table, n, f)


def check_no_test_access(cls, params=None) -> None:
    """Test metrics are out of reach, as far as an in-process check can see (nasbench_lab/isolation.py
    says exactly what it sees and what not; the classroom grader runs graded code in a separate
    process for real isolation). Seen: Observation and SearchContext carry no test metric or
    table; nothing of a forbidden type (Table, SearchView, QueryResult, h5py file/group/dataset)
    is reachable from the context or the strategy, before or after a run (attributes, containers,
    closures, class attributes; module namespaces are not entered); and while the strategy's
    __init__, ask() and tell() run, any read through a Table, opening an HDF5 file (open, os.open,
    h5py.File), inspecting the call stack (sys._getframe outside library code, inspect, frame
    attributes of tracebacks/generators), the garbage collector's object lists, ctypes and
    starting processes are refused and reported. Not seen: module globals reached by import
    (e.g. nasbench_lab.experiment's view cache), frames walked from one a library handed out
    (traceback.walk_tb), C extensions, other threads after the strategy's call returned."""
    from nasbench_lab.isolation import Watch, Watched, find_reachable
    from nasbench_lab.runner import Budget
    from nasbench_lab.spaces.finite import Enumeration

    for dc in (Observation, SearchContext):
        leaky = [f.name for f in dataclasses.fields(dc) if "test" in f.name.lower()]
        if leaky:
            raise CheckFailure(f"{dc.__name__} has test field(s) {leaky}: strategies must never see test metrics")
    if not dataclasses.is_dataclass(Observation) or not Observation.__dataclass_params__.frozen:
        raise CheckFailure("Observation must be a frozen dataclass")
    view = FIXTURES.view("nb201")  # build the fixture before the tables are sealed
    budget, paths, watch = Budget(queries=N_QUERIES), [FIXTURES.path("nb201")], Watch.get()
    seen = len(watch.seen)
    try:
        with _tables_sealed():
            with watch.during(paths):
                strat, context, noise_u, record = _start(cls, view, seed=0, run=0, params=params, budget=budget)
            hit = find_reachable([context], _forbidden_types(), leaves=(Enumeration,))
            if hit:
                raise CheckFailure(f"the SearchContext given to strategies reaches a {hit[1]} ({hit[0]}): "
                                   "test metrics are within the strategy's reach; a bug of nasbench_lab")
            t = _Trace(record, _Spy(Watched(strat, paths), context, _label(cls)), strat, view, noise_u)
            _continue(t, budget, 60.0)
    except CheckFailure:
        if len(watch.seen) > seen:
            raise CheckFailure(f"the strategy {watch.seen[seen]}: strategies must not reach the runner's or the "
                               "table's data (test metrics); use only the Observations given to tell()") from None
        raise
    if len(watch.seen) > seen:  # refused inside the strategy, which caught the exception and went on
        raise CheckFailure(f"the strategy {watch.seen[seen]} (and caught the refusal): strategies must not reach "
                           "the runner's or the table's data (test metrics)")
    hit = _find_forbidden(t.strat) or find_reachable([t.strat], _forbidden_types(), leaves=(Enumeration,))
    if hit:
        raise CheckFailure(f"after a run the strategy holds a {hit[1]} at {hit[0]}: strategies must not keep "
                           "tables, search views or query results (they contain test metrics)")


def check_pickle_resume(cls, params=None) -> None:
    """Pickling the strategy mid-run and resuming from the copy (runner.run_loop on the partial
    record) gives the same trajectory as an uninterrupted run; on a multi-fidelity table."""
    from nasbench_lab.runner import Budget

    n, k = N_QUERIES, 13
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


CHECKS: dict[str, Callable] = {
    "check_parameters_documented": check_parameters_documented,
    "check_ask_valid": check_ask_valid,
    "check_query_budget_exact": check_query_budget_exact,
    "check_reproducible": check_reproducible,
    "check_reproducible_subprocess": check_reproducible_subprocess,
    "check_global_random_state": check_global_random_state,
    "check_time_monotone": check_time_monotone,
    "check_incumbent_monotone": check_incumbent_monotone,
    "check_nan_observations": check_nan_observations,
    "check_single_fidelity": check_single_fidelity,
    "check_terminates_tiny_space": check_terminates_tiny_space,
    "check_no_duplicate_payment": check_no_duplicate_payment,
    "check_no_test_access": check_no_test_access,
    "check_pickle_resume": check_pickle_resume,
}

from nasbench_lab.conformance_vector import check_vector_observations  # noqa: E402 (needs the above)

CHECKS["check_vector_observations"] = check_vector_observations

# ============================================================================ public API


def checks() -> Iterator[tuple[str, Callable]]:
    """(check name, callable(strategy name or class, params=None)) for every check, in order.
    The callable raises CheckFailure (an AssertionError) with a specific message, or
    CheckSkipped when the check does not apply."""
    for name, fn in CHECKS.items():
        def run(strategy, params=None, _fn=fn):
            _fn(_resolve(strategy), params)
        run.__name__ = name
        run.__doc__ = fn.__doc__
        yield name, run


def expected_failure(strategy, check_name: str) -> str | None:
    """The reason a strategy declares for failing `check_name`, or None."""
    return _resolve(strategy).expected_failures.get(check_name)


def check_strategy(strategy, *, params: dict | None = None, only=None, raise_on_failure: bool = True
                   ) -> ConformanceReport:
    """Run the conformance checks on a strategy (a registered name or a Strategy subclass,
    registered or not) and return a readable report; raise ConformanceError (whose message is
    the report) when a check fails that the strategy does not list in `expected_failures`."""
    cls = _resolve(strategy)
    report = ConformanceReport(cls.name or cls.__name__)
    xfail = cls.expected_failures if isinstance(cls.expected_failures, dict) else {}
    for name, fn in CHECKS.items():
        if only is not None and name not in only:
            continue
        try:
            fn(cls, params)
        except CheckSkipped as e:
            report.results.append(CheckResult(name, "skipped", str(e)))
        except Exception as e:  # CheckFailure, or a bug surfacing as anything else
            msg = str(e) if isinstance(e, CheckFailure) else f"{type(e).__name__}: {e}"
            if name in xfail:
                report.results.append(CheckResult(name, "xfail", f"expected: {xfail[name]}\n{msg}"))
            else:
                report.results.append(CheckResult(name, "failed", msg))
        else:
            if name in xfail:
                report.results.append(CheckResult(name, "xpass", f"declared as expected failure "
                                                  f"({xfail[name]}) but it passed"))
            else:
                report.results.append(CheckResult(name, "passed"))
    if raise_on_failure and not report.ok:
        raise ConformanceError(report)
    return report


def check_all_registered(**kw) -> dict[str, ConformanceReport]:
    return {name: check_strategy(name, raise_on_failure=False, **kw) for name in strategy_names()}


__all__ = ["CHECKS", "CheckFailure", "CheckSkipped", "CheckResult", "ConformanceError", "ConformanceReport",
           "TINY", "TinySpace", "make_tiny_table", "check_strategy", "check_all_registered", "checks",
           "expected_failure", "FIXTURES"]
