"""The exercises' own checks of a strategy's method: dedup and exhaustion (random search), mutation, tournament and aging (evolution), policy sampling and the baseline (REINFORCE).

The strategy is the stand-in of remote.py: each ask, tell and method call runs in the graded
process; what it returns is plain data rebuilt here.
"""
from __future__ import annotations

import numpy as np

from nasbench_lab.exercises.report import CHECK_HINTS, describe, hint_for
from nasbench_lab.exercises.sandbox import StudentError
from nasbench_lab.testing import TimeLimit as _TimeLimit
from nasbench_lab.testing import deadline as time_limit

SMALL_TABLE = "nb201-3ops-small"


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
        msg = describe(e)
        report.add(section, name, "fail", f"raised {msg}" if isinstance(e, StudentError) else msg, hint_for(msg))


def checks_random(report, cls, ex):
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


def checks_evolution(report, cls, ex):
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


def checks_reinforce(report, cls, ex):
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
        favour = np.zeros_like(np.asarray(s.logits, dtype=float))
        favour[:, 1] = 5.0
        s.remote_assign("logits", favour)   # in the student's process: s.logits[...] = favour
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
