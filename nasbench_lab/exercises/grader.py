"""The autograder behind `nasbench-lab exercise grade DIR` (and each exercise's grade.py).

Strategy exercises (random-search, evolution, reinforce), in order, stopping early only when
the student's code cannot run at all:
  1. load: the student's file imports and defines one Strategy subclass;
  2. smoke run: five queries on the small table without an exception;
  3. the conformance suite (nasbench_lab.testing.check_strategy), each failure with a hint;
  4. checks of the exercise's method (dedup and exhaustion; mutation, tournament and aging;
     policy sampling and the baseline's effect on the update);
  5. performance: many seeded runs of the student's strategy and of the package's reference
     on the small table (and the full built-in table when it is installed and complete, or
     the tables a teacher names), failing only when the student's final validation regret
     is significantly worse (one-sided Mann-Whitney U, p < 0.01) AND worse on average by more
     than a tolerance.
Function exercises (statistics, landscape) call the student's functions on the given data
and on hidden cases and compare with the package's own computation (nasbench_lab.stats,
numpy on the table arrays).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import inspect
import json
import math
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.exercises import HERE, Exercise, load_exercise
from nasbench_lab.testing import TimeLimit as _TimeLimit
from nasbench_lab.testing import deadline as time_limit

SMALL_TABLE = "nb201-3ops-small"
FULL_TABLE = "nb201-mnist1d"
P_LIMIT = 0.01  # performance: fail only when significantly worse at this level ...
TOLERANCE = 0.5  # ... and worse on average by more than this many percentage points of regret


# ============================================================================ the report


@dataclass
class Item:
    section: str
    name: str
    status: str          # "pass", "fail", "skip"
    detail: str = ""
    hint: str = ""


@dataclass
class GradeReport:
    exercise: str
    folder: str
    items: list = field(default_factory=list)
    wall_seconds: float = 0.0
    stopped: str = ""    # why grading stopped early, if it did

    @property
    def failures(self) -> list:
        return [i for i in self.items if i.status == "fail"]

    @property
    def ok(self) -> bool:
        return bool(self.items) and not self.failures

    def add(self, section, name, status, detail="", hint="") -> Item:
        it = Item(section, name, status, detail, hint)
        self.items.append(it)
        return it

    def to_dict(self) -> dict:
        return {"exercise": self.exercise, "folder": self.folder, "passed": self.ok,
                "wall_seconds": round(self.wall_seconds, 2), "stopped": self.stopped,
                "items": [asdict(i) for i in self.items]}

    def __str__(self) -> str:
        icon = {"pass": "PASS", "fail": "FAIL", "skip": "SKIP"}
        lines = [f"Grading exercise {self.exercise!r} in {self.folder}", ""]
        section = None
        last_hint = None
        for it in self.items:
            if it.section != section:
                section = it.section
                n = [i for i in self.items if i.section == section]
                nf = sum(i.status == "fail" for i in n)
                state = (f"{nf} of {len(n)} FAILED" if nf else
                         "all passed" if any(i.status == "pass" for i in n) else "skipped")
                lines.append(f"== {section}: {state}")
            lines.append(f"  {icon[it.status]}  {it.name}")
            for ln in it.detail.splitlines() if it.detail else []:
                lines.append("        " + ln)
            if it.hint and it.status == "fail" and it.hint == last_hint:
                lines.append("        hint: as above")
            elif it.hint and it.status == "fail":
                last_hint = it.hint
                for k, ln in enumerate(it.hint.splitlines()):
                    lines.append(("        hint: " if k == 0 else "              ") + ln)
        if self.stopped:
            lines += ["", f"Grading stopped early: {self.stopped}"]
        lines.append("")
        n_pass = sum(i.status == "pass" for i in self.items)
        if self.ok:
            lines.append(f"RESULT: PASSED, all {n_pass} checks ({self.wall_seconds:.1f} s). Well done!")
        else:
            lines.append(f"RESULT: NOT YET, {len(self.failures)} check(s) failed, {n_pass} passed "
                         f"({self.wall_seconds:.1f} s). Read the hints above, fix, and grade again.")
        return "\n".join(lines)


# ============================================================================ helpers


def _where(exc: BaseException, filename: str) -> str:
    """'line N: code' of the innermost frame in the student's file, if any."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).name == filename]
    if not frames:
        return ""
    f = frames[-1]
    return f" (at {filename} line {f.lineno}: {(f.line or '').strip()})"


def hint_for(message: str) -> str:
    """A hint for common mistakes, recognised from an error message."""
    m = message
    if "has no attribute 'test" in m or "has no attribute \"test" in m:
        return ("Observations carry no test metrics, on purpose: a search may only use what a researcher "
                "sees during the search (training and validation results). Test accuracy is only for the "
                "final report; choosing by it is cheating the benchmark. Use obs.valid_acc.")
    if "Table." in m and "strategies must not read tables" in m:
        return ("Do not open the table from a strategy: everything it may use comes in the Observations "
                "given to tell().")
    if "NotImplementedError" in m or "is not written yet" in m:
        return "That part of the skeleton is still a TODO: write it (TASK.md says what it must do)."
    if "random state" in m or "np.random" in m:
        return ("Use only self.rng, the numpy Generator the strategy was given (self.rng.integers, "
                "self.rng.choice, self.rng.random, self.space.sample(self.rng)); never np.random.* "
                "functions or the random module: they make runs irreproducible.")
    if "differ" in m and ("same seed" in m or "fresh process" in m):
        return ("Same seed, same run: draw every random number from self.rng and do not iterate over a "
                "set of strings (its order changes between processes; sort it or use a list).")
    if "pickl" in m:
        return "Keep only plain, picklable state in the strategy (lists, dicts, numpy arrays, self.rng)."
    if "did not finish" in m or "hang" in m or "without the run ending" in m:
        return ("ask() must return None when nothing is left to ask; a loop that waits for an unseen "
                "architecture never ends once all have been seen.")
    if "SpaceError" in m or "space" in m and "never NB201" in m:
        return ("Build architectures with self.space (sample, make, n_decisions, n_options); the checks "
                "run on other spaces too.")
    return ""


CHECK_HINTS = {
    "check_parameters_documented": "Keep `name`, `defaults` and the docstring that lists each parameter; "
                                   "call super().__init__(context, rng, **params).",
    "check_query_budget_exact": "ask() should return None only when nothing is left to ask.",
    "check_no_duplicate_payment": "Record the canonical key (self.space.canonical_key(arch)) of every "
                                  "queried cell, never ask for a cell whose key you have; return None "
                                  "once every distinct cell has been queried.",
    "check_terminates_tiny_space": "On a tiny space every cell is soon queried: ask() must then return "
                                   "None instead of looping forever.",
    "check_incumbent_monotone": "Treat a NaN valid_acc (failed training) as the worst result (score(obs)).",
    "check_nan_observations": "Treat a NaN valid_acc (failed training) as the worst result (score(obs)).",
}


@contextlib.contextmanager
def student_module(folder: Path, filename: str):
    """Import the student's file by path as a top-level module (its file stem), with its folder
    on sys.path so that a fresh process (the suite's reproducibility check) can import it too."""
    path = folder / filename
    modname = path.stem
    saved = sys.modules.pop(modname, None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        spec.loader.exec_module(mod)
        yield mod
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(folder))
        sys.modules.pop(modname, None)
        if saved is not None:
            sys.modules[modname] = saved


def _load(report: GradeReport, folder: Path, ex: Exercise, stack: contextlib.ExitStack):
    path = folder / ex.student_file
    if not path.is_file():
        report.add("Load", f"read {ex.student_file}", "fail", f"{path} is missing",
                   "Start again in a new folder (nasbench-lab exercise start) and copy your code over.")
        return None
    try:
        mod = stack.enter_context(student_module(folder, ex.student_file))
    except SyntaxError as e:
        report.add("Load", f"import {ex.student_file}", "fail",
                   f"SyntaxError at line {e.lineno}: {e.msg}\n    {(e.text or '').strip()}",
                   "Python cannot read the file: fix the syntax error first.")
        return None
    except Exception as e:
        report.add("Load", f"import {ex.student_file}", "fail",
                   f"importing raised {type(e).__name__}: {e}{_where(e, ex.student_file)}", hint_for(repr(e)))
        return None
    report.add("Load", f"import {ex.student_file}", "pass")
    return mod


# ============================================================================ tables


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


def _budget_for(n_archs: int) -> int:
    return 30 if n_archs <= 1000 else 100


# ============================================================================ strategies


def _find_class(report: GradeReport, mod, ex: Exercise, expected: str):
    from nasbench_lab.strategies import Strategy

    classes = [v for v in vars(mod).values() if inspect.isclass(v) and issubclass(v, Strategy)
               and v is not Strategy and v.__module__ == mod.__name__]
    by_name = [c for c in classes if c.__name__ == expected]
    if by_name:
        cls = by_name[0]
    elif len(classes) == 1:
        cls = classes[0]
    else:
        report.add("Load", "find the strategy class", "fail",
                   f"{ex.student_file} defines {len(classes)} Strategy subclasses "
                   f"({', '.join(c.__name__ for c in classes) or 'none'})",
                   f"Keep the skeleton's class {expected} (a subclass of nasbench_lab.strategies.Strategy).")
        return None
    report.add("Load", f"find the strategy class ({cls.__name__})", "pass")
    return cls


def _smoke(report: GradeReport, cls, ex: Exercise) -> bool:
    from nasbench_lab.runner import Budget, run_search
    from nasbench_lab.tables import open_table

    table = open_table(SMALL_TABLE)
    try:
        with time_limit(20):
            rec = run_search(table, cls, seed=0, run=0, budget=Budget(queries=5))
    except _TimeLimit:
        report.add("Smoke run", "5 queries on the small table", "fail",
                   "the run did not finish within 20 s", hint_for("did not finish"))
        return False
    except Exception as e:
        msg = f"{type(e).__name__}: {e}"
        report.add("Smoke run", "5 queries on the small table", "fail",
                   f"{msg}{_where(e, ex.student_file)}", hint_for(msg))
        return False
    if rec.n_queries == 0:
        report.add("Smoke run", "5 queries on the small table", "fail",
                   "the first ask() returned None", "ask() must propose an architecture at the start.")
        return False
    report.add("Smoke run", f"5 queries on the small table ({rec.n_queries} made)", "pass")
    return True


def _conformance(report: GradeReport, cls) -> None:
    from nasbench_lab import testing

    saved = testing.TINY_TIME_LIMIT
    testing.TINY_TIME_LIMIT = 5.0   # a hung run is a failure; don't make the student wait 30 s
    try:
        res = testing.check_strategy(cls, raise_on_failure=False)
    finally:
        testing.TINY_TIME_LIMIT = saved
    section = "Conformance suite (nasbench_lab.testing)"
    for r in res.results:
        if r.status in ("passed", "xpass"):
            report.add(section, r.check, "pass")
        elif r.status == "skipped":
            report.add(section, r.check, "skip", r.message)
        else:
            report.add(section, r.check, "fail", r.message,
                       hint_for(r.message) or CHECK_HINTS.get(r.check, ""))


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
            msg = f"{type(e).__name__}: {e}"
            report.add(section, label, "fail", f"a run raised {msg}{_where(e, ex.student_file)}", hint_for(msg))
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


# --- exercise-specific checks ------------------------------------------------------------------


def _small_view():
    from nasbench_lab.runner import SearchView
    from nasbench_lab.tables import open_table

    return SearchView(open_table(SMALL_TABLE), None, None)


def _drive(cls, view, queries: int, params=None, seed: int = 0, limit: float = 20.0):
    """Run cls on the view; return (record, asks, returned_none)."""
    from nasbench_lab.runner import Budget, RunRecord, run_loop
    from nasbench_lab.strategies import SearchContext

    ss, ns = np.random.SeedSequence([seed, 0]).spawn(2)
    noise = np.random.default_rng(ns).random(view.table.n_archs)
    ctx = SearchContext(space=view.table.space, fidelities=view.search.recorded_epochs, max_queries=queries)
    strat = cls(ctx, np.random.default_rng(ss), **(params or {}))

    class Spy:
        def __init__(self):
            self.asks, self.none = [], False

        def ask(self):
            a = strat.ask()
            if a is None:
                self.none = True
            else:
                self.asks.append(a)
            return a

        def tell(self, ask, obs):
            strat.tell(ask, obs)

    spy = Spy()
    rec = RunRecord(meta={"strategy": cls.name})
    with time_limit(limit):
        run_loop(spy, view, noise, Budget(queries=queries), rec)
    return rec, spy, strat


def _guard(report, section, name, fn, ex):
    try:
        fn()
    except _TimeLimit:
        report.add(section, name, "fail", "did not finish within the time limit", hint_for("did not finish"))
    except Exception as e:
        msg = f"{type(e).__name__}: {e}"
        report.add(section, name, "fail", f"raised {msg}{_where(e, ex.student_file)}", hint_for(msg))


def _checks_random(report, cls, ex):
    section = "Random search checks"
    if getattr(cls, "deduplicates", False) is True:
        report.add(section, "declares deduplicates = True", "pass")
    else:
        report.add(section, "declares deduplicates = True", "fail",
                   f"{cls.__name__}.deduplicates is {getattr(cls, 'deduplicates', None)!r}",
                   "Keep `deduplicates = True` from the skeleton: it enrols the suite's no-duplicate check.")

    def exhaust():
        view = _small_view()
        space = view.table.space
        n_keys = len({space.canonical_key(a) for a in space.all_archs()})
        budget = 3 * n_keys
        rec, spy, _ = _drive(cls, view, budget, limit=5.0)
        keys = [space.canonical_key(space.from_index(i)) for i in rec.arch]
        name = f"budget {budget} queries on the small table ({n_keys} distinct cells): each paid once, then stop"
        if len(set(keys)) != len(keys):
            report.add(section, name, "fail",
                       f"{len(keys)} queries covered only {len(set(keys))} distinct cells: "
                       f"{len(keys) - len(set(keys))} queries were paid for a function already known",
                       CHECK_HINTS["check_no_duplicate_payment"])
        elif len(keys) < n_keys:
            report.add(section, name, "fail", f"ask() returned None after {len(keys)} of {n_keys} distinct cells",
                       "Return None only when every distinct cell has been queried.")
        elif not spy.none:
            report.add(section, name, "fail", "the run did not end with ask() returning None",
                       "Return None once every distinct cell has been queried.")
        else:
            report.add(section, name, "pass", f"{len(keys)} queries, all distinct, then None")

    _guard(report, section, "exhaust the small table", exhaust, ex)


def _hamming(a, b) -> int:
    return sum(x != y for x, y in zip(a, b))


def _checks_evolution(report, cls, ex):
    from nasbench_lab.strategies import SearchContext

    section = "Regularized evolution checks"
    view = _small_view()
    space = view.table.space
    state = {"mutation_ok": False}

    def mutation():
        name = "mutate(arch) changes exactly one decision to a different option"
        if not callable(getattr(cls, "mutate", None)):
            report.add(section, name, "skip", f"{cls.__name__} has no mutate(arch) method")
            return
        s = cls(SearchContext(space=space, fidelities=view.search.recorded_epochs), np.random.default_rng(0))
        rng = np.random.default_rng(1)
        changed = np.zeros((space.n_decisions, space.n_options), dtype=int)
        for k in range(300):
            parent = space.sample(rng)
            child = s.mutate(parent)
            d = _hamming(parent.choices, child.choices)
            if d != 1:
                what = "returned the parent unchanged" if d == 0 else f"changed {d} decisions"
                report.add(section, name, "fail",
                           f"mutate({parent.choices}) returned {child.choices}: it {what}",
                           "Pick a decision i, then a NEW option for it: draw from the n_options - 1 others "
                           "(e.g. o = rng.integers(n_options - 1); o += o >= arch.choices[i]). A child "
                           "equal to its parent wastes a query and stalls the evolution."
                           if d == 0 else "A mutation changes exactly one decision.")
                return
            i = next(j for j in range(space.n_decisions) if parent.choices[j] != child.choices[j])
            changed[i, child.choices[i]] += 1
        if (changed == 0).any():
            i, o = map(int, np.argwhere(changed == 0)[0])
            report.add(section, name, "fail", f"in 300 mutations decision {i} never became option {o}",
                       "Every decision and every other option must be reachable (draw them with self.rng).")
            return
        state["mutation_ok"] = True
        report.add(section, name, "pass", "300 mutations, each one decision, all decisions and options reached")

    def tournament_and_aging():
        p = int(cls.defaults.get("population", 10))
        name = (f"with sample_size = population = {p}, every child is one mutation from the best of the "
                f"{p} most recent members")
        params = {"population": p, "sample_size": p} if "sample_size" in cls.defaults else None
        if params is None:
            report.add(section, name, "skip", "no sample_size parameter")
            return
        rec, spy, _ = _drive(cls, view, 60, params=params, seed=3)
        archs = [a.arch.choices for a in spy.asks]
        vals = [float("-inf") if v != v else v for v in rec.valid]
        for k in range(p, len(rec.valid)):
            living = list(range(k - p, k))
            best = max(vals[j] for j in living)
            parents = [j for j in living if vals[j] == best]
            child = archs[k]
            if not any(_hamming(archs[j], child) == 1 for j in parents):
                older = [j for j in range(k - p) if _hamming(archs[j], child) == 1]
                if any(_hamming(archs[j], child) == 0 for j in parents) and not state["mutation_ok"]:
                    why = "it is the best member itself: the mutation did not change it (see above)"
                elif older:
                    why = (f"it is one mutation from query {older[-1] + 1}, which should have died of old age "
                           f"(aging: the population is the last {p} results)")
                else:
                    why = "it is not one mutation from the best living member"
                report.add(section, name, "fail",
                           f"query {k + 1} asked for {child}; the best living member was "
                           f"{archs[parents[0]]} (valid {best:.2f}); {why}",
                           "Tournament: the parent is the best (highest score) of sample_size members drawn "
                           "without replacement; aging: after each tell the OLDEST member is removed "
                           "(popleft), not the worst; the child is mutate(parent).")
                return
        report.add(section, name, "pass", f"{len(rec.valid) - p} children checked")

    _guard(report, section, "mutate(arch) changes exactly one decision", mutation, ex)
    _guard(report, section, "tournament selection and aging", tournament_and_aging, ex)


def _checks_reinforce(report, cls, ex):
    from nasbench_lab.strategies import Observation, SearchContext

    section = "REINFORCE checks"
    view = _small_view()
    space = view.table.space
    ctx = SearchContext(space=space, fidelities=view.search.recorded_epochs)

    def new():
        s = cls(ctx, np.random.default_rng(0))
        if not callable(getattr(s, "probabilities", None)) or not isinstance(getattr(s, "logits", None), np.ndarray):
            raise _Skip("the strategy has no probabilities() method or no logits array (keep the skeleton's)")
        return s

    def logp(s, arch) -> float:
        P = np.asarray(s.probabilities(), dtype=float)
        return float(np.log(P[np.arange(space.n_decisions), arch.choices]).sum())

    def obs(arch, acc):
        return Observation(arch=arch, epoch=view.search.recorded_epochs[-1], valid_acc=acc, valid_loss=1.0,
                           train_acc=acc, train_loss=1.0, cost=1.0, time=1.0)

    def sampling():
        name = "ask() samples from the policy"
        s = new()
        P = np.asarray(s.probabilities(), dtype=float)
        if P.shape != (space.n_decisions, space.n_options) or not np.allclose(P.sum(1), 1):
            report.add(section, name, "fail", f"probabilities() gave shape {P.shape}, row sums {P.sum(1)}",
                       "One row per decision, each a probability distribution over the options.")
            return
        s.logits[:] = 0.0
        s.logits[:, 1] = 5.0
        share = np.mean([np.mean(np.asarray(s.ask().arch.choices) == 1) for _ in range(200)])
        expect = float(np.exp(5) / (np.exp(5) + space.n_options - 1))
        if abs(share - expect) > 0.05:
            report.add(section, name, "fail",
                       f"with logits favouring option 1 (probability {expect:.2f} per decision), 200 asks chose it "
                       f"{share:.0%} of the time",
                       "Draw each decision's option from its row of probabilities() with self.rng "
                       "(e.g. self.rng.choice(n_options, p=row)), not uniformly.")
        else:
            report.add(section, name, "pass",
                       f"favoured option drawn {share:.0%} of the time (policy: {expect:.0%})")

    def baseline():
        name = "the baseline: a result above the recent average makes its architecture more likely, below less"
        s = new()
        for _ in range(10):  # ten results of 70%: the baseline settles near 0.7
            a = s.ask()
            s.tell(a, obs(a.arch, 70.0))
        a = s.ask()
        before = logp(s, a.arch)
        s.tell(a, obs(a.arch, 10.0))
        after = logp(s, a.arch)
        c = s.ask()
        before_c = logp(s, c.arch)
        s.tell(c, obs(c.arch, 95.0))
        after_c = logp(s, c.arch)
        if not after_c > before_c:
            report.add(section, name, "fail",
                       f"after ten results of 70%, a result of 95% changed log p(arch) by {after_c - before_c:+.4f}",
                       "A better-than-baseline result must raise that architecture's probability: "
                       "logits += lr * advantage * (onehot - probabilities()); check the sign.")
        elif not after < before:
            report.add(section, name, "fail",
                       f"after ten results of 70%, a result of 10% changed log p(arch) by {after - before:+.4f}: "
                       "a bad architecture became MORE likely",
                       "Subtract the baseline: advantage = reward - baseline, where the baseline is the moving "
                       "average of past rewards. Without it every reward is positive, so REINFORCE reinforces "
                       "everything it tries, good or bad.")
        else:
            report.add(section, name, "pass",
                       f"10% result: log p {after - before:+.4f}; 95% result: log p {after_c - before_c:+.4f}")

    _guard(report, section, "ask() samples from the policy", _skippable(report, section, sampling), ex)
    _guard(report, section, "the baseline", _skippable(report, section, baseline), ex)


class _Skip(Exception):
    pass


def _skippable(report, section, fn):
    def run():
        try:
            fn()
        except _Skip as e:
            report.add(section, fn.__name__, "skip", str(e))
    return run


STRATEGY_EXERCISES = {
    # name: (skeleton class, reference module, reference class, label, exercise checks)
    "random-search": ("MyRandomSearch", "nasbench_lab.strategies.random_search", "RandomSearch",
                      "'random' (random search with dedup)", _checks_random),
    "evolution": ("MyEvolution", "nasbench_lab.strategies.evolution", "RegularizedEvolution",
                  "'rea' (population 10, sample 3)", _checks_evolution),
    "reinforce": ("MyReinforce", "nasbench_lab.strategies.reinforce", "Reinforce",
                  "'reinforce' (Adam, baseline momentum 0.9)", _checks_reinforce),
}


def _grade_strategy(report, folder, ex, tables, runs, strategy: str | None = None):
    expected, ref_mod, ref_name, ref_label, checks = STRATEGY_EXERCISES[ex.name]
    with contextlib.ExitStack() as stack:
        if strategy is not None:  # --strategy FILE.py:Class or module:Class instead of the skeleton's file
            from nasbench_lab.strategies import get_strategy

            cls = get_strategy(strategy)
            report.add("Load", f"load {strategy} ({cls.__name__})", "pass")
        else:
            mod = _load(report, folder, ex, stack)
            if mod is None:
                report.stopped = f"{ex.student_file} could not be imported."
                return
            cls = _find_class(report, mod, ex, expected)
        if cls is None:
            report.stopped = "no strategy class to grade."
            return
        if not _smoke(report, cls, ex):
            report.stopped = "the strategy cannot run yet; the other checks need a strategy that runs."
            return
        _conformance(report, cls)
        checks(report, cls, ex)
        ref_cls = getattr(importlib.import_module(ref_mod), ref_name)
        _performance(report, cls, ref_cls, ref_label, tables, runs, ex)


# ============================================================================ function exercises


def _call(report, section, name, ex, fn, *args, **kw):
    """(ok, value) of the student's function; a failure is reported."""
    try:
        with time_limit(20):
            return True, fn(*args, **kw)
    except _TimeLimit:
        report.add(section, name, "fail", "did not return within 20 s", "")
    except Exception as e:
        msg = f"{type(e).__name__}: {e}"
        report.add(section, name, "fail", f"raised {msg}{_where(e, ex.student_file)}", hint_for(msg))
    return False, None


def _need(report, mod, ex, names) -> bool:
    missing = [n for n in names if not callable(getattr(mod, n, None))]
    if missing:
        report.add("Load", "find " + ", ".join(names), "fail", f"{ex.student_file} has no {', '.join(missing)}",
                   "Keep the skeleton's function names and signatures.")
        return False
    report.add("Load", "find " + ", ".join(names), "pass")
    return True


def statistics_data() -> dict:
    """The results the statistics exercise ships (results.json), recomputed: final test accuracy
    of REA and random search, 30 runs each paired by seed, 15 queries on the small table."""
    from nasbench_lab.runner import Budget, SearchView, run_search
    from nasbench_lab.tables import open_table

    t = open_table(SMALL_TABLE)
    view = SearchView(t, None, None)
    out = {"strategy_a": "rea", "strategy_b": "random", "table": t.name, "table_hash": t.content_hash,
           "budget_queries": 15, "seed": 0, "runs": 30,
           "metric": "final test accuracy (%) of the reported incumbent (seed mean)"}
    for key, strat in (("a", "rea"), ("b", "random")):
        out[key] = [round(run_search(t, strat, seed=0, run=r, budget=Budget(queries=15), view=view).final["test"], 6)
                    for r in range(30)]
    return out


def _stat_cases() -> list:
    """(label, a, b, alpha) cases: the given data and hidden ones."""
    given = json.loads((HERE / "statistics" / "results.json").read_text())
    cases = [("the given results (rea vs random)", given["a"], given["b"], 0.05)]
    rng = np.random.default_rng(2024)
    base = np.round(rng.normal(70, 5, 40), 1)
    a = base + np.round(rng.normal(0, 0.5, 40), 1)
    b = base + 0.8 + np.round(rng.normal(0, 0.5, 40), 1)
    cases.append(("hidden case 1: large spread between runs, B consistently a little higher on the same seed",
                  a.tolist(), b.tolist(), 0.05))
    cases.append(("hidden case 2: identical results", base.tolist(), base.tolist(), 0.05))
    rng = np.random.default_rng(7)
    x = np.round(rng.normal(60, 3, 25), 2)
    y = np.round(x - rng.normal(0.8, 1.0, 25), 2)
    cases.append(("hidden case 3: A a bit higher, alpha = 0.05", x.tolist(), y.tolist(), 0.05))
    cases.append(("hidden case 4: the same data, alpha = 0.001", x.tolist(), y.tolist(), 0.001))
    return cases


def _reference_decision(a, b, alpha):
    from nasbench_lab import stats

    r = stats.pairwise_tests({"A": a, "B": b}, paired=True, alpha=alpha)[0]
    return (r.winner or "no difference"), float(r.p)


def _grade_statistics(report, folder, ex, tables, runs):
    from scipy.stats import mannwhitneyu, ttest_ind, ttest_rel

    section = "Statistics: decide(a, b, alpha)"
    with contextlib.ExitStack() as stack:
        mod = _load(report, folder, ex, stack)
        if mod is None or not _need(report, mod, ex, ["decide"]):
            report.stopped = "nothing to grade yet."
            return
        given = json.loads((HERE / "statistics" / "results.json").read_text())
        mine = folder / "results.json"
        if mine.is_file():
            with contextlib.suppress(Exception):
                if json.loads(mine.read_text())["a"] != given["a"]:
                    report.add("Load", "results.json unchanged", "skip",
                               "your results.json differs from the one handed out; grading uses the original")
        for label, a, b, alpha in _stat_cases():
            ok, got = _call(report, section, label, ex, mod.decide, list(a), list(b), alpha=alpha)
            if not ok:
                continue
            want_v, want_p = _reference_decision(a, b, alpha)
            want = f"expected ({want_v!r}, p = {want_p:.4g}), the Wilcoxon signed-rank test of nasbench_lab.stats"
            if not (isinstance(got, tuple) and len(got) == 2):
                report.add(section, label, "fail", f"returned {got!r}; {want}",
                           "Return a tuple (verdict, p_value).")
                continue
            v, p = got
            try:
                p = float(p)
            except (TypeError, ValueError):
                report.add(section, label, "fail", f"p_value {p!r} is not a number; {want}", "")
                continue
            close = abs(p - want_p) <= 0.005 + 0.05 * want_p
            detail = f"you returned ({v!r}, p = {p:.4g}); {want}"
            if close and v == want_v:
                report.add(section, label, "pass", f"({v!r}, p = {p:.4g})")
                continue
            others = {"an unpaired Mann-Whitney U test": _p(lambda: mannwhitneyu(a, b).pvalue),
                      "an unpaired t-test": _p(lambda: ttest_ind(a, b).pvalue),
                      "a paired t-test": _p(lambda: ttest_rel(a, b).pvalue)}
            used = [k for k, q in others.items() if q == q and abs(p - q) <= 0.005 + 0.05 * q]
            if not close and used:
                hint = (f"Your p-value is that of {used[0]}. Run i of A and run i of B used the same seed, so "
                        "the results come in pairs: test the paired differences with the Wilcoxon "
                        "signed-rank test (scipy.stats.wilcoxon(a, b)); it needs no normality assumption.")
            elif not close and np.allclose(a, b):
                hint = ("When every pair is equal there is no evidence of a difference: return p = 1.0 "
                        "(scipy's wilcoxon cannot rank zero differences; handle this case first).")
            elif not close:
                hint = "Use the Wilcoxon signed-rank test on the pairs (scipy.stats.wilcoxon(a, b), two-sided)."
            elif v not in ("A", "B", "no difference"):
                hint = 'The verdict must be "A", "B" or "no difference".'
            else:
                hint = ("The p-value is right but the verdict is not: significant means p < alpha (use the "
                        "alpha you are given), and then the better one is the one with the higher values "
                        "(compare the paired differences, e.g. their median).")
            report.add(section, label, "fail", detail, hint)


def _p(f) -> float:
    try:
        with np.errstate(all="ignore"):
            return float(f())
    except Exception:
        return math.nan


def _landscape_cases() -> list:
    from nasbench_lab.tables import open_table

    t = open_table(SMALL_TABLE)
    idx = np.arange(t.n_archs)
    choices = np.array([t.space.from_index(int(i)).choices for i in idx])
    ops = list(t.space.ops)
    cases = [("the small table (last epoch)", t.lookup("valid_acc", idx), choices, ops),
             ("hidden case 1: the small table after epoch 1", t.lookup("valid_acc", idx, epoch=1), choices, ops)]
    rng = np.random.default_rng(11)
    ch = rng.integers(0, 4, (600, 5))
    names = ["pool", "conv", "zero", "skip"]
    val = 60 + 2.0 * (ch == 1).any(1) - 9.0 * (ch == 2).any(1) + 3.0 * (ch == 3).any(1) + rng.normal(0, 1, 600)
    val[rng.random(600) < 0.05] = np.nan
    cases.append(("hidden case 2: a made-up space (5 edges, 4 ops, some failed trainings)", val, ch, names))
    return cases


def reference_effects(valid, choices, ops) -> dict:
    valid = np.asarray(valid, dtype=float)
    ok = ~np.isnan(valid)
    out = {}
    for o, name in enumerate(ops):
        present = (np.asarray(choices) == o).any(1)
        out[name] = float(valid[ok & present].mean() - valid[ok & ~present].mean())
    return out


def _grade_landscape(report, folder, ex, tables, runs):
    section = "Landscape: op_effects and most_important_op"
    with contextlib.ExitStack() as stack:
        mod = _load(report, folder, ex, stack)
        if mod is None or not _need(report, mod, ex, ["op_effects", "most_important_op"]):
            report.stopped = "nothing to grade yet."
            return
        for label, valid, choices, ops in _landscape_cases():
            want = reference_effects(valid, choices, ops)
            best = max(want, key=lambda k: abs(want[k]))
            ok, got = _call(report, section, f"op_effects on {label}", ex, mod.op_effects,
                            valid.copy(), choices.copy(), list(ops))
            if ok:
                shown = ", ".join(f"{k} {v:+.3f}" for k, v in want.items())
                if not isinstance(got, dict) or set(got) != set(ops):
                    report.add(section, f"op_effects on {label}", "fail",
                               f"returned {got!r}; expected a dict with one entry per op: {shown}",
                               "Return {op name: effect} for every op in `ops`.")
                else:
                    bad = [k for k in ops if not (isinstance(got[k], (int, float, np.floating))
                                                  and abs(float(got[k]) - want[k]) <= 1e-6 + 1e-9 * abs(want[k]))]
                    if bad:
                        k = bad[0]
                        hint = ("Effect of an op = mean accuracy of the cells that use it on at least one edge "
                                "minus the mean of the cells that never use it.")
                        if any(isinstance(got[j], float) and got[j] != got[j] for j in ops):
                            hint += " Leave out NaN accuracies (failed trainings): np.nanmean or a mask."
                        report.add(section, f"op_effects on {label}", "fail",
                                   f"for op {k!r} you returned {got[k]!r}, expected {want[k]:+.6f} "
                                   f"(all expected: {shown})", hint)
                    else:
                        report.add(section, f"op_effects on {label}", "pass", shown)
            ok, got = _call(report, section, f"most_important_op on {label}", ex, mod.most_important_op,
                            valid.copy(), choices.copy(), list(ops))
            if ok:
                if got == best:
                    report.add(section, f"most_important_op on {label}", "pass", f"{got!r}")
                else:
                    hint = "The op with the largest effect in absolute value."
                    if got == max(want, key=want.get):
                        hint = ("You returned the op with the largest positive effect; an op whose presence "
                                "hurts a lot matters too: compare absolute values.")
                    report.add(section, f"most_important_op on {label}", "fail",
                               f"returned {got!r}, expected {best!r} (effect {want[best]:+.3f})", hint)


# ============================================================================ entry points

def _grade_darts(report, folder, ex, tables, runs):
    from nasbench_lab.exercises.darts_checks import grade_darts  # the exercise's own checks

    grade_darts(report, folder, ex, tables, runs)


GRADERS = {"random-search": _grade_strategy, "evolution": _grade_strategy, "reinforce": _grade_strategy,
           "statistics": _grade_statistics, "landscape": _grade_landscape, "darts-step": _grade_darts}


def grade(folder, *, tables: list[str] | None = None, runs: int | None = None,
          strategy: str | None = None) -> GradeReport:
    """Grade the exercise in `folder` (made by `start_exercise`); returns the report.
    `strategy` ('file.py:Class' or 'module:Class'): grade that class instead of the one in the
    exercise's own file (strategy exercises only)."""
    folder = Path(folder).resolve()
    ex, _meta = load_exercise(folder)
    from nasbench_lab.tables import builtin_tables

    if SMALL_TABLE not in builtin_tables():
        raise NasbenchError(f"the exercises need the small built-in table {SMALL_TABLE!r}, which this install "
                            "lacks; install nasbench_lab from its repository (pip install -e .) or put "
                            f"{SMALL_TABLE}.h5 in a folder named by $NASBENCH_LAB_TABLES")
    report = GradeReport(ex.name, str(folder))
    t0 = time.perf_counter()
    np_state = np.random.get_state()
    try:
        if strategy is not None:
            if ex.name not in STRATEGY_EXERCISES:
                raise NasbenchError(f"--strategy: exercise {ex.name!r} grades functions, not a strategy class")
            _grade_strategy(report, folder, ex, tables or default_tables(), runs, strategy=strategy)
        else:
            GRADERS[ex.name](report, folder, ex, tables or default_tables(), runs)
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
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")


def run_grade(args) -> int:
    if args.runs is not None and args.runs < 5:
        raise NasbenchError(f"--runs must be at least 5, got {args.runs}")
    report = grade(args.dir, tables=args.tables, runs=args.runs, strategy=args.strategy)
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
