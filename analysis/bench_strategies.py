"""Strategy throughput and per-query overhead on the NAS-Bench-201 CIFAR-10 table.

Usage: python analysis/bench_strategies.py [--runs 500] [--workers 2] [--overhead-runs 20]
                                           [--strategies a,b,...] [--skip-throughput]
                                           [--plain-runs 200] [--protocol-runs 500] [--skip-protocol]
                                           [--protocol-repeats 3] [--baseline DIR] [--no-bytecode-cache]

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
   wall and CPU seconds (children's user+sys) and ratios (target <= 1.5x); then the same compare
   again (nothing left to run) and `nasbench-lab report DIR` alone. The commands alternate for
   `--protocol-repeats` rounds (default 3) and the medians of times and of per-round ratios are
   printed (a shared machine's load changes between commands).
`--baseline DIR` (a checkout of an earlier commit, e.g. `git worktree add DIR COMMIT`): parts 3
and 4 also run that checkout's code (PYTHONPATH=DIR), part 4 in the same alternating rounds, so
before and after are measured side by side on the same machine in one run.
Part 4's processes read compiled bytecode from a cache in a temp dir (PYTHONPYCACHEPREFIX, after
an untimed warm-up round), as they would from an installed package: in an environment with
PYTHONDONTWRITEBYTECODE=1 every process would otherwise compile nasbench_lab's sources again
(`--no-bytecode-cache` measures that).

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


def _timed(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds of a command. With a baseline environment (PYTHONPATH=DIR) it runs
    in DIR: `python -m` puts the working directory first on sys.path, which would otherwise
    import this checkout instead."""
    import resource
    import subprocess

    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cwd = env.get("BENCH_BASELINE_DIR") if env else None
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if proc.returncode != 0:
        print(f"  ({os.path.basename(cmd[0])} {cmd[1]} exited {proc.returncode}: {proc.stderr.strip()[-300:]})")
    out = proc.stdout
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), out


def _baseline_env(baseline: str | None, base: dict | None = None) -> dict | None:
    """The environment that runs another checkout's nasbench_lab (PYTHONPATH first)."""
    env = dict(os.environ if base is None else base)
    d = None if baseline is None else os.path.abspath(baseline)
    return None if d is None else {**env, "PYTHONPATH": d, "BENCH_BASELINE_DIR": d}


def _cached_env(tmp: str) -> dict:
    """Bytecode written to and read from a cache under `tmp` (PYTHONPYCACHEPREFIX), as an
    installed package has it: with PYTHONDONTWRITEBYTECODE=1 (set in some sandboxes) every process
    compiles nasbench_lab's sources again, which a user's install never does."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
    return env


def protocol(runs: int, tmp: str, repeats: int = 3, baseline: str | None = None, cache: bool = True) -> None:
    """Part 4: the whole 500+500-run protocol as processes, plain script vs nasbench-lab; on a
    shared machine the commands alternate, `repeats` rounds, and medians are printed."""
    import shutil

    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.path.join(here, "..", "..", "shared", "nb201")
    if not os.path.isfile(os.path.join(shared, "nb201_12ep.csv")):
        print("\n== protocol: ../shared/nb201 is absent (the plain script's CSVs); skipped")
        return
    lab = os.path.join(os.path.dirname(sys.executable), "nasbench-lab")
    common = ["--table", "nb201-cifar10-valid", "--runs", str(runs), "--seed", "0", "--budget-seconds", "12000",
              "--search-schedule", "12", "--report-schedule", "200"]
    print(f"\n== whole protocol, {runs} random + {runs} rea runs, process start included "
          f"(median of {repeats} alternating rounds)")
    rows = {k: [] for k in ("plain", "two", "cmp", "again", "report")}
    env = _cached_env(tmp) if cache else None
    old = _baseline_env(baseline, env)
    if old is not None:
        rows.update({k: [] for k in ("two0", "cmp0", "again0")})
    print(f"  bytecode: {'cached under ' + env['PYTHONPYCACHEPREFIX'] + ' (warm-up round first)' if cache else 'as the environment says'}"
          f"; PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', 'unset')} here")
    if cache:  # one untimed round of every command, so every process below reads cached bytecode
        small = [a if a != str(runs) else "2" for a in common]
        for e, lab_cmd, tag in ((env, [lab], "warm"), *(((old, [sys.executable, "-m", "nasbench_lab.cli"], "warm0"),)
                                                       if old is not None else ())):
            _timed([*lab_cmd, "run", "--strategy", "rea", *small, "--out", os.path.join(tmp, tag)], e)
            _timed([*lab_cmd, "compare", "--strategies", "random,rea", *small, "--out", os.path.join(tmp, tag + "c")], e)
            _timed([*lab_cmd, "report", os.path.join(tmp, tag + "c")], e)
        _timed([sys.executable, os.path.join(here, "plain_nb201.py"), shared, "--runs", "2"], env)
    for rep in range(repeats):
        for d in ("proto-random", "proto-rea", "proto-cmp", "base-random", "base-rea", "base-cmp"):
            shutil.rmtree(os.path.join(tmp, d), ignore_errors=True)
        if old is not None:  # the other checkout's commands first, the same commands through python -m
            lab0 = [sys.executable, "-m", "nasbench_lab.cli"]
            r0 = [_timed([*lab0, "run", "--strategy", s, *common, "--out", os.path.join(tmp, f"base-{s}")], old)
                  for s in ("random", "rea")]
            rows["two0"].append((sum(r[0] for r in r0), sum(r[1] for r in r0)))
            for key in ("cmp0", "again0"):
                rows[key].append(_timed([*lab0, "compare", "--strategies", "random,rea", *common, "--out",
                                         os.path.join(tmp, "base-cmp")], old)[:2])
        plain = _timed([sys.executable, os.path.join(here, "plain_nb201.py"), shared, "--runs", str(runs)], env)
        runs2 = [_timed([lab, "run", "--strategy", s, *common, "--out", os.path.join(tmp, f"proto-{s}")], env)
                 for s in ("random", "rea")]
        cmp_ = _timed([lab, "compare", "--strategies", "random,rea", *common, "--out", os.path.join(tmp, "proto-cmp")],
                      env)
        again = _timed([lab, "compare", "--strategies", "random,rea", *common, "--out", os.path.join(tmp, "proto-cmp")],
                       env)
        report = _timed([lab, "report", os.path.join(tmp, "proto-cmp")], env)
        rows["plain"].append(plain[:2])
        rows["two"].append((sum(r[0] for r in runs2), sum(r[1] for r in runs2)))
        rows["cmp"].append(cmp_[:2])
        rows["again"].append(again[:2])
        rows["report"].append(report[:2])
    med = {k: (float(np.median([w for w, _ in v])), float(np.median([c for _, c in v]))) for k, v in rows.items()}
    ratio = {k: (float(np.median([a[0] / b[0] for a, b in zip(v, rows["plain"])])),
                 float(np.median([a[1] / b[1] for a, b in zip(v, rows["plain"])]))) for k, v in rows.items()}
    print(f"  {'':46s} {'wall s':>7s} {'CPU s':>7s} {'x plain (wall, CPU)':>20s}")
    for key, label in (("plain", "plain numpy script (CSV)"), ("two", "nasbench-lab run random + run rea"),
                       ("cmp", "nasbench-lab compare random,rea (+ report)"),
                       ("again", "  the same compare again (all runs stored)"),
                       ("report", "  nasbench-lab report DIR (the report alone)"),
                       ("two0", "baseline: run random + run rea"), ("cmp0", "baseline: compare random,rea (+ report)"),
                       ("again0", "baseline:   the same compare again")):
        if key not in med:
            continue
        (w, c), (rw, rc) = med[key], ratio[key]
        print(f"  {label:46s} {w:7.2f} {c:7.2f} {rw:9.2f} {rc:9.2f}")
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
    ap.add_argument("--protocol-repeats", type=int, default=3)
    ap.add_argument("--no-bytecode-cache", action="store_true",
                    help="part 4: keep the environment's bytecode setting (default: a bytecode cache in a temp dir)")
    ap.add_argument("--baseline", default=None, metavar="DIR",
                    help="a checkout of another commit: parts 3 and 4 also run its code, side by side")
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
        if args.baseline:  # its own part 3, in its own process, right after this one
            import subprocess

            print(f"  baseline ({args.baseline}):", flush=True)
            out = subprocess.run([sys.executable, os.path.join(args.baseline, "analysis", "bench_strategies.py"),
                                  "--skip-throughput", "--overhead-runs", "0", "--skip-protocol", "--plain-runs",
                                  str(args.plain_runs)], capture_output=True, text=True,
                                 env=_baseline_env(args.baseline))
            print("\n".join("    " + line for line in out.stdout.splitlines()[-3:]), out.stderr[-300:])
    if not args.skip_protocol:
        protocol(args.protocol_runs, tmp, args.protocol_repeats, args.baseline, not args.no_bytecode_cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
