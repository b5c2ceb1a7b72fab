"""Grading a strategy exercise: find the class, a smoke run, the conformance suite, the exercise's checks, performance against the reference.

The student's class runs in its own process (sandbox.py); here it is a stand-in class
(remote.py) that the runner, the suite and the checks drive like any strategy, on tables that
only this process holds.
"""
from __future__ import annotations

import importlib
import math

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.exercises.harness import open_sandbox
from nasbench_lab.exercises.remote import remote_class
from nasbench_lab.exercises.report import CHECK_HINTS, describe, hint_for
from nasbench_lab.exercises.sandbox import Sandbox, StudentError
from nasbench_lab.conformance.driver import _first_difference
from nasbench_lab.testing import TimeLimit as _TimeLimit
from nasbench_lab.testing import deadline as time_limit

SMALL_TABLE = "nb201-3ops-small"
P_LIMIT = 0.01  # performance: fail only when significantly worse at this level ...
TOLERANCE = 0.5  # ... and worse on average by more than this many percentage points of regret
SECTION_SUITE = "Conformance suite (nasbench_lab.testing)"
# the suite's checks that look inside the strategy's process: run here against the graded process
OWN_CHECKS = ("check_reproducible_subprocess", "check_global_random_state")


def _budget_for(n_archs: int) -> int:
    return 30 if n_archs <= 1000 else 100


def find_class(report, sb: Sandbox, ex, expected: str):
    """The stand-in for the student's Strategy subclass (by the skeleton's name, or the only one)."""
    classes = [c for c in sb.info.get("classes") or [] if isinstance(c, dict)]
    by_name = [c for c in classes if c.get("qualname") == expected]
    if by_name or len(classes) == 1:
        info = (by_name or classes)[0]
    else:
        names = ", ".join(str(c.get("qualname")) for c in classes) or "none"
        report.add("Load", "find the strategy class", "fail",
                   f"{ex.student_file} defines {len(classes)} Strategy subclasses ({names})",
                   f"Keep the skeleton's class {expected} (a subclass of nasbench_lab.strategies.Strategy).")
        return None
    cls = remote_class(sb, info)
    report.add("Load", f"find the strategy class ({cls.__qualname__})", "pass")
    return cls


def _smoke(report, cls) -> bool:
    from nasbench_lab.runner import Budget, run_search
    from nasbench_lab.tables import open_table

    table = open_table(SMALL_TABLE)
    name = "5 queries on the small table"
    try:
        with time_limit(20):
            rec = run_search(table, cls, seed=0, run=0, budget=Budget(queries=5))
    except _TimeLimit:
        report.add("Smoke run", name, "fail", "the run did not finish within 20 s", hint_for("did not finish"))
        return False
    except Exception as e:
        msg = describe(e)
        report.add("Smoke run", name, "fail", msg, hint_for(msg))
        return False
    if rec.n_queries == 0:
        report.add("Smoke run", name, "fail", "the first ask() returned None",
                   "ask() must propose an architecture at the start.")
        return False
    report.add("Smoke run", f"5 queries on the small table ({rec.n_queries} made)", "pass")
    return True


N_QUERIES = 30
RNG_HINT = ("draw every random number from self.rng (the numpy Generator the strategy was given); "
            "do not use the random module, np.random.* functions, unseeded generators, "
            "or iteration order of sets of strings (it changes between processes)")


def _trajectory(cls, seed: int, run: int) -> list:
    """(arch, epoch, valid) of each query of a seeded run on the suite's multi-fidelity fixture."""
    from nasbench_lab import testing
    from nasbench_lab.runner import Budget, run_search

    view = testing.FIXTURES.view("nb201")
    r = run_search(view.table, cls, seed=seed, run=run, budget=Budget(queries=N_QUERIES), view=view)
    return [(int(a), int(e), None if v != v else round(float(v), 6)) for a, e, v in zip(r.arch, r.epoch, r.valid)]


def check_fresh_process(cls, other_cls) -> None:
    """The suite's check_reproducible_subprocess, with the fresh process a second graded process
    (another PYTHONHASHSEED): the same seed gives the same trajectory in both."""
    from nasbench_lab.testing import CheckFailure

    here, there = _trajectory(cls, 11, 2), _trajectory(other_cls, 11, 2)
    if here != there:
        raise CheckFailure("the same seed gave a different trajectory in a fresh process; "
                           + _first_difference(here, there, "this process", "the fresh process") + ". " + RNG_HINT)


def check_global_state(cls, sb: Sandbox) -> None:
    """The suite's check_global_random_state, on the global generators of the graded process."""
    from nasbench_lab.testing import CheckFailure

    sb.request("globals", action="seed", seed=1)
    before = sb.request("globals", action="digest")
    t1 = _trajectory(cls, 3, 0)
    if sb.request("globals", action="digest") != before:
        raise CheckFailure("the strategy changed the global random state (np.random.seed / "
                           "np.random.rand / the random module); " + RNG_HINT)
    sb.request("globals", action="seed", seed=2)
    t2 = _trajectory(cls, 3, 0)
    if t1 != t2:
        raise CheckFailure("the trajectory depends on the global random state; "
                           + _first_difference(t1, t2, "global seed 1", "global seed 2") + ". " + RNG_HINT)


def _conformance(report, cls, sb: Sandbox, folder, ex) -> None:
    from nasbench_lab import testing

    saved = testing.TINY_TIME_LIMIT
    testing.TINY_TIME_LIMIT = 5.0   # a hung run is a failure; don't make the student wait 30 s
    results = {}
    try:
        for check in testing.CHECKS:
            if check in OWN_CHECKS:
                continue
            if sb.sock is None:   # killed by the check before (a hang, a crash): a fresh process, started
                _restart(sb)      # here, not inside a check that refuses starting processes
            res = testing.check_strategy(cls, raise_on_failure=False, only=[check])
            results.update({r.check: (r.status, r.message) for r in res.results})
    finally:
        testing.TINY_TIME_LIMIT = saved
    for name in OWN_CHECKS:
        results[name] = _own_check(name, cls, sb, folder, ex)
    for check in testing.CHECKS:
        if check not in results:
            continue
        status, message = results[check]
        if status in ("passed", "xpass"):
            report.add(SECTION_SUITE, check, "pass")
        elif status == "skipped":
            report.add(SECTION_SUITE, check, "skip", message)
        else:
            report.add(SECTION_SUITE, check, "fail", message, hint_for(message) or CHECK_HINTS.get(check, ""))


def _restart(sb: Sandbox) -> None:
    try:
        sb.start()
    except Exception:   # the import failed this time: the next check reports it
        sb.kill()


def _own_check(name: str, cls, sb: Sandbox, folder, ex) -> tuple:
    from nasbench_lab import testing

    other = None
    try:
        if name == "check_reproducible_subprocess":
            from nasbench_lab.exercises.report import GradeReport

            other = open_sandbox(GradeReport(ex.name, str(folder)), folder, ex, sb.clock, spec=sb.spec,
                                 hash_seed="4321", quiet=True, tables=sb.tables)
            if other is None:
                return "failed", "your file could not be imported in a fresh process"
            info = next((c for c in other.info["classes"] if c.get("qualname") == cls._remote), None)
            if info is None:
                return "failed", f"a fresh process found no class {cls._remote}"
            check_fresh_process(cls, remote_class(other, info))
        else:
            check_global_state(cls, sb)
    except testing.CheckFailure as e:
        return "failed", str(e)
    except Exception as e:
        return "failed", describe(e)
    finally:
        if other is not None:
            other.close()
    return "passed", ""


def _run_many(cls, view, runs: int, queries: int, params=None, seed: int = 0) -> np.ndarray:
    from nasbench_lab.runner import Budget, run_search

    oracle = float(np.nanmax(view.report_valid))
    out = np.empty(runs)
    for r in range(runs):
        rec = run_search(view.table, cls, seed=seed, run=r, budget=Budget(queries=queries), view=view,
                         params=params)
        out[r] = oracle - rec.final["valid"]
    return out


def _performance(report: GradeReport, cls, ref_cls, ref_label: str, tables: list[str], runs: int | None,
                 ex: Exercise) -> None:
    from scipy.stats import mannwhitneyu

    from nasbench_lab.runner import SearchView
    from nasbench_lab.tables import open_table

    section = f"Performance against the reference {ref_label}"
    for name in tables:
        try:
            table = open_table(name)
            view = SearchView(table, None, None)
        except NasbenchError as e:
            report.add(section, f"table {name}", "skip", f"cannot use this table: {e}")
            continue
        q = _budget_for(table.n_archs)
        n = runs or (100 if table.n_archs <= 1000 else 40)
        label = f"{table.name}: {n} runs each, {q} queries"
        try:
            with time_limit(40):
                mine = _run_many(cls, view, n, q)
        except _TimeLimit:
            report.add(section, label, "fail", f"{n} runs did not finish within 40 s",
                       "Something in ask() or tell() is very slow (or loops); the reference takes a second.")
            continue
        except Exception as e:
            msg = describe(e)
            report.add(section, label, "fail", f"a run raised {msg}" if isinstance(e, StudentError) else
                       f"a run failed: {msg}", hint_for(msg))
            continue
        ref = _run_many(ref_cls, view, n, q)
        ok_m, ok_r = np.isfinite(mine), np.isfinite(ref)
        a, b = mine[ok_m], ref[ok_r]
        p = float(mannwhitneyu(a, b, alternative="greater").pvalue) if a.size and b.size else math.nan
        diff = float(a.mean() - b.mean()) if a.size and b.size else math.nan
        detail = (f"final validation regret (best mean valid acc minus the reported incumbent's, "
                  f"percentage points; lower is better):\n"
                  f"yours {a.mean():.2f} (median {np.median(a):.2f}), reference {b.mean():.2f} "
                  f"(median {np.median(b):.2f}); difference {diff:+.2f}\n"
                  f"one-sided Mann-Whitney U, yours worse: p = {p:.3g} "
                  f"(fails when p < {P_LIMIT} and the difference > {TOLERANCE})")
        worse = not (p == p) or (p < P_LIMIT and diff > TOLERANCE)
        report.add(section, label, "fail" if worse else "pass", detail,
                   "Your strategy finds clearly worse architectures than the reference with the same budget; "
                   "compare what it asks for with what TASK.md describes." if worse else "")


# --- the exercise --------------------------------------------------------------------------------


def strategy_exercises() -> dict:
    """name: (skeleton class, reference module, reference class, label, exercise checks)."""
    from nasbench_lab.exercises import method_checks as m

    return {
        "random-search": ("MyRandomSearch", "nasbench_lab.strategies.random_search", "RandomSearch",
                          "'random' (random search with dedup)", m.checks_random),
        "evolution": ("MyEvolution", "nasbench_lab.strategies.evolution", "RegularizedEvolution",
                      "'rea' (population 10, sample 3)", m.checks_evolution),
        "reinforce": ("MyReinforce", "nasbench_lab.strategies.reinforce", "Reinforce",
                      "'reinforce' (Adam, baseline momentum 0.9)", m.checks_reinforce),
    }


def grade_strategy(report, folder, ex, tables, runs, clock, strategy: str | None = None) -> None:
    expected, ref_mod, ref_name, ref_label, checks = strategy_exercises()[ex.name]
    sb = open_sandbox(report, folder, ex, clock, spec=strategy, tables=tables)
    if sb is None:
        report.stopped = f"{strategy or ex.student_file} could not be imported."
        return
    with sb:
        cls = find_class(report, sb, ex, expected)
        if cls is None:
            report.stopped = "no strategy class to grade."
            return
        if not _smoke(report, cls):
            report.stopped = "the strategy cannot run yet; the other checks need a strategy that runs."
            return
        _conformance(report, cls, sb, folder, ex)
        checks(report, cls, ex)
        ref_cls = getattr(importlib.import_module(ref_mod), ref_name)
        _performance(report, cls, ref_cls, ref_label, tables, runs, ex)
