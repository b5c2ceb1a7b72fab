"""The results store at scale: N runs of 100 queries written, reopened, loaded and reported.

Usage: python analysis/bench_results.py [--sizes 1000,10000,100000] [--report-max 10000]
                                        [--chunk 8] [--keep DIR] [--baseline CHECKOUT]

For each N: N/2 runs each of 'random' and 'rea' on the shipped nb201-cifar10-valid table
(NB201 protocol configuration), with synthetic but well-formed trajectories of 100 queries
(increasing clock to ~12,000 s, uniform architectures, the incumbent the running best of the
table's 12-epoch validation accuracy, its 200-epoch values from the table), so that every
check of the store and the report applies. Timed, in one process (wall seconds):
  write    ResultStore(DIR, config) + save_many in transactions of `chunk` runs (what compare
           does: one transaction per finished chunk of runs)
  reopen   ResultStore(DIR) in a fresh object + stored_runs() of both strategies
  rerun    experiment.run_experiment on DIR with the same configuration: what a rerun of compare
           does before its report (tables opened and checked, the store opened, every run found
           stored, none run, no trajectory read)
  load     store.load() of every run as RunRecords (trajectories as numpy arrays)
  finals   store.finals(): the per-run summary columns only (no trajectories)
  report   nasbench_lab.report.build_report(DIR): statistics, figures, HTML (N <= report-max)
and the database's size on disk. Wall and CPU seconds (the CPU time is what a shared
machine cannot inflate).

--baseline CHECKOUT (an earlier commit's tree, e.g. `git archive COMMIT | tar -x -C CHECKOUT`):
right after each timed report, the same build_report on the same directory by that checkout's
nasbench_lab, in a child process (two versions of one package cannot share a process; the
child imports matplotlib before its clock starts, as this process has by then), and the
ratio of the two; then every number of the two summary.json files compared (the largest
difference, and how many differ). The table's other columns are this checkout's only.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import shutil
import sys
import tempfile
import time


def _clock():
    return time.perf_counter(), time.process_time()


def _since(t):
    return time.perf_counter() - t[0], time.process_time() - t[1]

import numpy as np


def make_records(n: int, table, config: dict, strategy: str, seed: int, offset: int = 0, q: int = 100):
    from nasbench_lab.runner import RunRecord

    rng = np.random.default_rng(seed)
    va = np.asarray(table.lookup("valid_acc", np.arange(table.n_archs), "12"), dtype=float)
    rv = np.asarray(table.lookup("valid_acc", np.arange(table.n_archs), "200"), dtype=float)
    rt = np.asarray(table.lookup("test_acc", np.arange(table.n_archs), "200"), dtype=float)
    cost = rng.uniform(60, 180, (n, q))
    time_ = np.cumsum(cost, axis=1)
    arch = rng.integers(0, table.n_archs, (n, q))
    valid = va[arch]
    best = np.maximum.accumulate(valid, axis=1)
    pos = np.where(valid == best, np.arange(q)[None, :], 0)
    inc = np.take_along_axis(arch, np.maximum.accumulate(pos, axis=1), axis=1)
    meta0 = {"strategy": strategy, "params": config["strategies"][strategy], "seed": config["seed"],
             "table": table.name, "table_hash": table.content_hash, "space": table.space.name,
             "search_schedule": "12", "report_schedule": "200", "budget_seconds": 12000.0,
             "budget_queries": None, "software_version": config["software_version"], "wall_seconds": 0.002}
    return [RunRecord({**meta0, "run": offset + i}, time=time_[i], arch=arch[i], epoch=np.full(q, 12),
                      cost=cost[i], valid=valid[i], incumbent=inc[i], incumbent_valid=rv[inc[i]],
                      incumbent_test=rt[inc[i]]) for i in range(n)]


_CHILD = '''import json, sys, time
import nasbench_lab.plots  # matplotlib, imported before the clock as in the parent
from nasbench_lab.report import build_report
t = time.perf_counter(), time.process_time()
build_report(sys.argv[1], html_path=sys.argv[2])
print(json.dumps([time.perf_counter() - t[0], time.process_time() - t[1]]))
'''


def _baseline_report(checkout: str, out: str, page: str) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": os.path.abspath(checkout)}
    r = subprocess.run([sys.executable, "-c", _CHILD, out, page], cwd=checkout, env=env,
                       capture_output=True, text=True, check=True)
    return tuple(json.loads(r.stdout.strip().splitlines()[-1]))


def _numbers(o, path=""):
    """{path: number} of every number in a summary, without the fields that name the run."""
    if isinstance(o, dict):
        return {k2: v2 for k, v in o.items() if k not in ("timing", "out", "software_version", "python")
                for k2, v2 in _numbers(v, f"{path}/{k}").items()}
    if isinstance(o, list):
        return {k2: v2 for i, v in enumerate(o) for k2, v2 in _numbers(v, f"{path}[{i}]").items()}
    return {path: o}


def compare_summaries(a: str, b: str) -> tuple[int, int, float]:
    """(values, values that differ, largest absolute difference) of two summary.json files."""
    na, nb = (_numbers(json.load(open(p))) for p in (a, b))
    if set(na) != set(nb):
        return len(na), len(set(na) ^ set(nb)), float("inf")
    diff = [k for k in na if na[k] != nb[k]]
    big = max((abs(na[k] - nb[k]) if isinstance(na[k], float) and isinstance(nb[k], float) else float("inf")
               for k in diff), default=0.0)
    return len(na), len(diff), big


def one_size(n: int, chunk: int, report: bool, base: str, baseline: str | None = None) -> dict:
    from nasbench_lab.experiment import StrategySpec, experiment_config, run_experiment
    from nasbench_lab.results import DB, ResultStore
    from nasbench_lab.runner import Budget
    from nasbench_lab.tables import Table, builtin_tables

    table = Table(builtin_tables()["nb201-cifar10-valid"])
    config = experiment_config([table], [StrategySpec("random"), StrategySpec("rea")], 0, Budget(seconds=12000),
                               "12", "200")
    out = os.path.join(base, f"n{n}")
    half = n // 2
    recs = {s: make_records(half, table, config, s, seed=k) for k, s in enumerate(("random", "rea"))}
    res = {"runs": 2 * half}
    t0 = _clock()
    store = ResultStore(out, config)
    for s in recs:
        for i in range(0, half, chunk):
            store.save_many(recs[s][i:i + chunk])
    store.close()
    res["write"] = _since(t0)
    del recs
    t0 = _clock()
    store = ResultStore(out)
    have = [store.stored_runs(table.name, s) for s in ("random", "rea")]
    res["reopen"] = _since(t0)
    assert all(len(h) == half for h in have)
    t0 = _clock()  # what a compare rerun does before its report: check, find every run stored, run none
    store2, again = run_experiment([table.path], [StrategySpec("random"), StrategySpec("rea")], runs=half, seed=0,
                                   budget=Budget(seconds=12000), out=out, search_schedule="12",
                                   report_schedule="200", progress=False)
    store2.close()
    res["rerun"] = _since(t0)
    assert again["new_runs"] == 0
    t0 = _clock()
    loaded = [store.load(table.name, s) for s in ("random", "rea")]
    res["load"] = _since(t0)
    assert sum(len(x) for x in loaded) == 2 * half and loaded[0][-1].n_queries == 100
    del loaded
    t0 = _clock()
    fin = [store.finals(table.name, s) for s in ("random", "rea")]
    res["finals"] = _since(t0)
    res["mean_final_test"] = [float(np.mean(f["test"])) for f in fin]
    store.close()
    res["mb"] = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out)
                    if f.startswith(DB)) / 1e6
    if report:
        from nasbench_lab.report import build_report

        import nasbench_lab.plots  # noqa: F401  (matplotlib: imported before the clock, as the child does)

        t0 = _clock()
        build_report(out)
        res["report"] = _since(t0)
        if baseline:
            page = os.path.join(base, f"baseline-n{n}.html")
            res["baseline_report"] = _baseline_report(baseline, out, page)
            res["same"] = compare_summaries(os.path.join(out, "summary.json"), page[:-5] + ".json")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--report-max", type=int, default=10000)
    ap.add_argument("--chunk", type=int, default=8)
    ap.add_argument("--keep", default=None, help="write the directories here and keep them")
    ap.add_argument("--baseline", default=None, metavar="CHECKOUT",
                    help="also time the report of an earlier checkout's nasbench_lab (see above)")
    args = ap.parse_args(argv)
    base = args.keep or tempfile.mkdtemp(prefix="bench-results-")
    print(f"wall / CPU seconds; 100 queries per run, transactions of {args.chunk} runs")
    print(f"{'runs':>8s} {'write':>13s} {'reopen':>13s} {'rerun':>13s} {'load':>13s} {'finals':>13s} "
          f"{'report':>13s} {'MB':>7s} {'KB/run':>7s}")
    for n in (int(x) for x in args.sizes.split(",")):
        r = one_size(n, args.chunk, n <= args.report_max, base, args.baseline)
        cells = " ".join(f"{r[k][0]:6.2f}/{r[k][1]:6.2f}" if k in r else f"{'-':>13s}"
                         for k in ("write", "reopen", "rerun", "load", "finals", "report"))
        print(f"{r['runs']:8d} {cells} {r['mb']:7.1f} {r['mb'] * 1e3 / r['runs']:7.2f}", flush=True)
        if "baseline_report" in r:
            (bw, bc), (w, c) = r["baseline_report"], r["report"]
            vals, ndiff, big = r["same"]
            print(f"{'':8s} report of the baseline {bw:6.2f}/{bc:6.2f}: baseline / this = {bw / w:5.2f}x wall, "
                  f"{bc / c:5.2f}x CPU; summary.json: {ndiff} of {vals} values differ"
                  + (f", by at most {big:.2g}" if ndiff else ""), flush=True)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
