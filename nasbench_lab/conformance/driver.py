"""Runs a strategy on a fixture for the checks: the validating spy, the run trace, the time limit, the settings."""
from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.conformance.results import CheckFailure
from nasbench_lab.conformance.tables import FIXTURES
from nasbench_lab.spaces import Arch, SpaceError
from nasbench_lab.strategies import SearchContext, Strategy
from nasbench_lab.strategies.base import Ask, Observation


N_QUERIES = 30
TINY_TIME_LIMIT = 30.0  # wall seconds a run on the tiny space may take before it counts as hung


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
