"""Strategy throughput and per-query overhead on the NAS-Bench-201 CIFAR-10 table.

Usage: python analysis/bench_strategies.py [--runs 500] [--workers 2] [--overhead-runs 20]
                                           [--strategies a,b,...] [--skip-throughput]

1. Throughput: `runs` runs x {random, rea, reinforce} under NAS-Bench-201's protocol
   (search schedule 12, report schedule 200, 12,000 simulated seconds) with `workers`
   processes through nasbench_lab.experiment.run_experiment; total wall time, the same
   call `nasbench-lab run` makes. Target: under 30 s for the 1,500 runs on 2 cores.
2. Overhead: per query, in one process, side by side: a bare lookup loop over the same
   table arrays (uniform index, cost and validation accuracy lookups, clock and incumbent
   update), the full runner with each strategy, and the time spent inside the strategy's
   own ask() and tell(); ratios to the bare loop.

The NB201 table is imported from ../shared/nb201 into a temporary folder; without that
folder the script says so and exits (status 0).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np


def nb201_table(tmp: str) -> str | None:
    from nasbench_lab.tables import builtin_tables

    return str(builtin_tables()["nb201-cifar10-valid"])  # the shipped NAS-Bench-201 table


def throughput(path: str, runs: int, workers: int, tmp: str) -> None:
    from nasbench_lab.experiment import StrategySpec, final_summary, run_experiment
    from nasbench_lab.runner import Budget

    names = ["random", "rea", "reinforce"]
    print(f"== throughput: {runs} runs x {{{', '.join(names)}}}, NB201 protocol, {workers} workers")
    t0 = time.perf_counter()
    _, res = run_experiment([path], [StrategySpec(n) for n in names], runs=runs, seed=0,
                            budget=Budget(seconds=12000), out=os.path.join(tmp, "throughput"),
                            search_schedule="12", report_schedule="200", workers=workers, progress=False)
    wall = time.perf_counter() - t0
    total_q = 0
    for (_, name), recs in res["results"].items():
        s = final_summary(recs)
        total_q += sum(r.n_queries for r in recs)
        print(f"  {name:10s} valid {s['valid']['mean']:.2f} +- {s['valid']['std']:.2f}   "
              f"test {s['test']['mean']:.2f} +- {s['test']['std']:.2f}   queries/run {s['queries_mean']:.1f}")
    print(f"  total wall {wall:.2f} s for {len(names) * runs} runs ({total_q} queries; "
          f"{'meets' if wall < 30 else 'MISSES'} the 30 s target)")


class _Timed:
    """Wraps a strategy for run_loop and accumulates the time spent in ask() and tell()."""

    def __init__(self, strat):
        self.strat = strat
        self.seconds = 0.0

    def ask(self):
        t = time.perf_counter()
        a = self.strat.ask()
        self.seconds += time.perf_counter() - t
        return a

    def tell(self, ask, obs):
        t = time.perf_counter()
        self.strat.tell(ask, obs)
        self.seconds += time.perf_counter() - t


def bare_loop(view, runs: int, budget: float) -> tuple[float, int]:
    """Random indices looked up in the same arrays the runner uses: the floor for any strategy."""
    tt, vt, va = view.metrics["train_time"], view.metrics["valid_time"], view.metrics["valid_acc"]
    n = view.table.n_archs
    queries = 0
    t0 = time.perf_counter()
    for r in range(runs):
        rng = np.random.default_rng(r)
        noise = rng.random(n)
        clock, best = 0.0, (-np.inf, -1)
        while True:
            idx = int(rng.integers(n))
            col = view.seed_column(idx, noise[idx])
            cost = float(tt[idx, col, -1]) + float(vt[idx, col, -1])
            if clock + cost > budget:
                break
            clock += cost
            v = float(va[idx, col, -1])
            if v > best[0]:
                best = (v, idx)
            queries += 1
    return time.perf_counter() - t0, queries


def overhead(path: str, runs: int, strategies: list[str]) -> None:
    from nasbench_lab.runner import Budget, RunRecord, SearchView, run_loop
    from nasbench_lab.strategies import SearchContext, get_strategy
    from nasbench_lab.tables import Table

    view = SearchView(Table(path), "12", "200")
    budget = Budget(seconds=12000)
    bare_s, bare_q = bare_loop(view, runs, budget.seconds)
    bare = bare_s / bare_q
    print(f"\n== per-query overhead, {runs} runs each, one process (NB201 protocol)")
    print(f"  {'strategy':20s} {'us/query':>10s} {'x bare':>8s} {'in ask+tell':>12s} {'x bare':>8s} {'queries/run':>12s}")
    print(f"  {'bare lookup loop':20s} {bare * 1e6:10.1f} {1.0:8.1f} {'-':>12s} {'-':>8s} {bare_q / runs:12.1f}")
    for name in strategies:
        cls = get_strategy(name)
        q = 0
        inside = 0.0
        t0 = time.perf_counter()
        for r in range(runs):
            strategy_ss, noise_ss = np.random.SeedSequence([0, r]).spawn(2)
            noise_u = np.random.default_rng(noise_ss).random(view.table.n_archs)
            ctx = SearchContext(space=view.table.space, fidelities=view.search.recorded_epochs,
                                max_seconds=budget.seconds)
            timed = _Timed(cls(ctx, np.random.default_rng(strategy_ss)))
            rec = RunRecord(meta={"strategy": name})
            run_loop(timed, view, noise_u, budget, rec)
            q += rec.n_queries
            inside += timed.seconds
        wall = time.perf_counter() - t0
        per = wall / q
        print(f"  {name:20s} {per * 1e6:10.1f} {per / bare:8.1f} {inside / q * 1e6:12.1f} "
              f"{inside / q / bare:8.1f} {q / runs:12.1f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--overhead-runs", type=int, default=20)
    ap.add_argument("--strategies", default=None, help="comma-separated (default: all registered)")
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench-strategies-")
    path = nb201_table(tmp)
    if path is None:
        print("../shared/nb201 is absent (the NAS-Bench-201 CSV exports): nothing to benchmark; skipping.")
        return 0
    from nasbench_lab.strategies import strategy_names

    if not args.skip_throughput:
        throughput(path, args.runs, args.workers, tmp)
    names = args.strategies.split(",") if args.strategies else strategy_names()
    overhead(path, args.overhead_runs, names)
    return 0


if __name__ == "__main__":
    sys.exit(main())
