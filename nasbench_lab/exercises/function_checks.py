"""Grading the function exercises (statistics, landscape): the student's functions, called in their own process on the given and on hidden data, against the package's own computation.

Only plain data travels: the arguments (lists, arrays of validation accuracies and choices) and
the returned values; every comparison is made here.
"""
from __future__ import annotations

import contextlib
import json
import math

import numpy as np

from nasbench_lab.exercises import HERE
from nasbench_lab.exercises.harness import call, open_with_functions

SMALL_TABLE = "nb201-3ops-small"


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


def grade_statistics(report, folder, ex, tables, runs, clock):
    from scipy.stats import mannwhitneyu, ttest_ind, ttest_rel

    section = "Statistics: decide(a, b, alpha)"
    sb = open_with_functions(report, folder, ex, clock, ["decide"])
    if sb is None:
        return
    with sb:
        given = json.loads((HERE / "statistics" / "results.json").read_text())
        mine = folder / "results.json"
        if mine.is_file():
            with contextlib.suppress(Exception):
                if json.loads(mine.read_text())["a"] != given["a"]:
                    report.add("Load", "results.json unchanged", "skip",
                               "your results.json differs from the one handed out; grading uses the original")
        for label, a, b, alpha in _stat_cases():
            ok, got, _ = call(report, section, label, sb, "decide", list(a), list(b), alpha=alpha)
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


def grade_landscape(report, folder, ex, tables, runs, clock):
    section = "Landscape: op_effects and most_important_op"
    sb = open_with_functions(report, folder, ex, clock, ["op_effects", "most_important_op"])
    if sb is None:
        return
    with sb:
        for label, valid, choices, ops in _landscape_cases():
            want = reference_effects(valid, choices, ops)
            best = max(want, key=lambda k: abs(want[k]))
            ok, got, _ = call(report, section, f"op_effects on {label}", sb, "op_effects",
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
            ok, got, _ = call(report, section, f"most_important_op on {label}", sb, "most_important_op",
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
