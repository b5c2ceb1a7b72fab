"""Strategy throughput and per-query overhead on the NAS-Bench-201 CIFAR-10 table.

Usage: python analysis/bench_strategies.py [--runs 500] [--workers 2] [--overhead-runs 20]
                                           [--strategies a,b,...] [--skip-throughput]
                                           [--plain-runs 200] [--protocol-runs 500] [--skip-protocol]

1. Throughput: `runs` runs x {random, rea, reinforce} under NAS-Bench-201's protocol
   (search schedule 12, report schedule 200, 12,000 simulated seconds) with `workers`
   processes through nasbench_lab.experiment.run_experiment; total wall time, the same
   call `nasbench-lab run` makes. Target: under 30 s for the 1,500 runs on 2 cores.
2. Overhead: per query, in one process, side by side: a bare lookup loop over the same
   table arrays (uniform index, cost and validation accuracy lookups, clock and incumbent
   update), the full runner with each strategy, and the time spent inside the strategy's
   own ask() and tell(); ratios to the bare loop.

3. Against plain numpy (`--plain-runs`, default 200), in one process, side by side: random
   search and regularized evolution through the runner (`run_search`, what `nasbench-lab run`
   does per run) against analysis/plain_nb201.py's implementations of the same algorithms on
   the same arrays; the trajectories are checked to be identical, then the per-query CPU
   times and their ratio are printed (target <= 1.5x).
4. The whole protocol (`--protocol-runs`, default 500), process start included: the plain
   script (python analysis/plain_nb201.py: CSV parsing, 500 random + 500 evolution runs) against
   `nasbench-lab run` for random and for rea (two processes, results stored) and against one
   `nasbench-lab compare --strategies random,rea` (one process, results stored, report written);
   wall and CPU seconds (children's user+sys) and ratios (target <= 1.5x).

Runs on the shipped NB201 table nb201-cifar10-valid; part 4 needs ../shared/nb201 for the
plain script's CSVs and is skipped without it.
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


def against_plain(path: str, runs: int, repeats: int = 5) -> None:
    """Part 3: runner vs plain numpy, same algorithm, same arrays, identical trajectories."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import plain_nb201 as plain

    from nasbench_lab.runner import Budget, SearchView, run_search
    from nasbench_lab.spaces.finite import enumeration
    from nasbench_lab.tables import Table

    view = SearchView(Table(path), "12", "200")
    en = enumeration(view.table.space)
    data = {"index_of": en.index, "canon": en.canon_list,
            "valid": view.metrics["valid_acc"][:, 0, -1].tolist(),
            "train_time": view.metrics["train_time"][:, 0, -1].tolist(),
            "valid_time": view.metrics["valid_time"][:, 0, -1].tolist(),
            "report_valid": view.report_valid_list, "report_test": view.report_test_list}
    budget = Budget(seconds=12000)
    print(f"\n== against plain numpy, {runs} runs each x {repeats}, one process, CPU time (NB201 protocol)")
    print(f"  {'strategy':10s} {'runner us/q':>12s} {'plain us/q':>11s} {'ratio':>7s} {'median ratio':>13s} "
          f"{'queries':>8s}  trajectories")
    for name, fn in (("random", plain.random_search), ("rea", plain.evolution)):
        # a busy machine: alternate runner and plain on chunks of 20 runs, `repeats` times, and
        # report the summed CPU time of each and the median of the per-chunk ratios
        t_runner = t_plain = 0.0
        ratios = []
        for rep in range(repeats):
            for lo in range(0, runs, 20):
                ids = range(lo, min(lo + 20, runs))
                t0 = time.process_time()
                recs_c = [run_search(view.table, name, seed=0, run=r, budget=budget, view=view) for r in ids]
                t1 = time.process_time()
                trajs_c = [fn(data, plain._rng(0, r), 12000.0) for r in ids]
                t2 = time.process_time()
                t_runner += t1 - t0
                t_plain += t2 - t1
                ratios.append((t1 - t0) / (t2 - t1))
                if rep == 0:
                    recs = recs_c if lo == 0 else recs + recs_c
                    trajs = trajs_c if lo == 0 else trajs + trajs_c
        t_runner /= repeats
        t_plain /= repeats
        same = all(rec.time.tolist() == t[0] and rec.arch.tolist() == t[1] and rec.cost.tolist() == t[2]
                   and rec.valid.tolist() == t[3] and rec.incumbent.tolist() == t[4]
                   and rec.incumbent_test.tolist() == t[6] for rec, t in zip(recs, trajs))
        q = sum(r.n_queries for r in recs)
        print(f"  {name:10s} {t_runner / q * 1e6:12.2f} {t_plain / q * 1e6:11.2f} {t_runner / t_plain:7.2f} "
              f"{float(np.median(ratios)):13.2f} {q:8d}  {'identical' if same else 'DIFFER'}")


def _timed(cmd: list[str]) -> tuple[float, float, str]:
    import resource
    import subprocess

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  ({os.path.basename(cmd[0])} {cmd[1]} exited {proc.returncode}: {proc.stderr.strip()[-300:]})")
    out = proc.stdout
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), out


def protocol(runs: int, tmp: str) -> None:
    """Part 4: the whole 500+500-run protocol as processes, plain script vs nasbench-lab."""
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.path.join(here, "..", "..", "shared", "nb201")
    if not os.path.isfile(os.path.join(shared, "nb201_12ep.csv")):
        print("\n== protocol: ../shared/nb201 is absent (the plain script's CSVs); skipped")
        return
    lab = os.path.join(os.path.dirname(sys.executable), "nasbench-lab")
    common = ["--table", "nb201-cifar10-valid", "--runs", str(runs), "--seed", "0", "--budget-seconds", "12000",
              "--search-schedule", "12", "--report-schedule", "200"]
    print(f"\n== whole protocol, {runs} random + {runs} rea runs, process start included")
    plain = _timed([sys.executable, os.path.join(here, "plain_nb201.py"), shared, "--runs", str(runs)])
    runs2 = [_timed([lab, "run", "--strategy", s, *common, "--out", os.path.join(tmp, f"proto-{s}")])
             for s in ("random", "rea")]
    two = (sum(r[0] for r in runs2), sum(r[1] for r in runs2))
    cmp_ = _timed([lab, "compare", "--strategies", "random,rea", *common, "--out", os.path.join(tmp, "proto-cmp")])
    again = _timed([lab, "compare", "--strategies", "random,rea", *common, "--out", os.path.join(tmp, "proto-cmp")])
    print(f"  {'':44s} {'wall s':>7s} {'CPU s':>7s} {'x plain (wall, CPU)':>20s}")
    for label, (w, c) in (("plain numpy script (CSV)", plain[:2]), ("nasbench-lab run random + run rea", two),
                          ("nasbench-lab compare random,rea (+ report)", cmp_[:2]),
                          ("  the same compare again (all runs stored)", again[:2])):
        print(f"  {label:44s} {w:7.2f} {c:7.2f} {w / plain[0]:9.2f} {c / plain[1]:9.2f}")
    print("  plain:  " + " | ".join(line.strip() for line in plain[2].splitlines()[:2]))
    print("  runner: " + " | ".join(r[2].splitlines()[1].strip() for r in runs2))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--overhead-runs", type=int, default=20)
    ap.add_argument("--strategies", default=None, help="comma-separated (default: all registered)")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--plain-runs", type=int, default=200)
    ap.add_argument("--protocol-runs", type=int, default=500)
    ap.add_argument("--skip-protocol", action="store_true")
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="bench-strategies-")
    path = nb201_table(tmp)
    from nasbench_lab.strategies import strategy_names

    if not args.skip_throughput:
        throughput(path, args.runs, args.workers, tmp)
    names = args.strategies.split(",") if args.strategies else strategy_names()
    if args.overhead_runs:
        overhead(path, args.overhead_runs, names)
    if args.plain_runs:
        against_plain(path, args.plain_runs)
    if not args.skip_protocol:
        protocol(args.protocol_runs, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
