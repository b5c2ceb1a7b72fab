"""`nasbench-lab oneshot`: seeded one-shot searches on the data of a live-built table, each
derived cell scored by the table, stored in the results store beside multi-trial runs."""
from __future__ import annotations

import json
import time

import numpy as np

from nasbench_lab import NasbenchError, __version__


def _params_per_method(pairs: list[str], names: list[str]) -> dict[str, dict]:
    from nasbench_lab.strategies import parse_params
    from nasbench_lab.strategies.oneshot import get_method

    per: dict[str, list[str]] = {n: [] for n in names}
    for p in pairs or []:
        key, eq, _ = p.partition("=")
        if not eq:
            raise NasbenchError(f"--param {p!r} must look like key=value or METHOD:key=value")
        if ":" in key:
            name, _, kv = p.partition(":")
            if name not in per:
                raise NasbenchError(f"--param {p!r} is for {name!r}, not among {', '.join(names)}")
            per[name].append(kv)
            continue
        takers = [n for n in names if key in get_method(n).defaults] if len(names) > 1 else names
        if not takers:
            raise NasbenchError(f"--param {p!r}: none of {', '.join(names)} has a parameter {key!r}")
        for n in takers:
            per[n].append(p)
    return {n: {**get_method(n).defaults, **parse_params(get_method(n), per[n])} for n in names}


def search_seed(base_seed: int, run: int) -> int:
    """The seed of run `run`: drawn from (base seed, run), as the multi-trial runner does."""
    return int(np.random.SeedSequence([int(base_seed), int(run)]).generate_state(1)[0])


def _job(method, params, table_path, run, base_seed, budget_seconds) -> dict:
    from nasbench_lab.strategies.oneshot import run_oneshot
    from nasbench_lab.strategies.oneshot.clock import time_factor
    from nasbench_lab.strategies.oneshot.scoring import table_protocol, to_record
    from nasbench_lab.tables.table import Table

    with Table(table_path) as table:
        protocol = table_protocol(table)
        # the machine that runs the search (a worker, maybe on a Dask cluster) against the
        # table's time scale; measured at most once per process
        factor = time_factor(table, protocol)
        t = time.perf_counter()
        res = run_oneshot(method, protocol, search_seed(base_seed, run), **params)
        return to_record(res, table, run, base_seed, budget_seconds,
                         wall_seconds=time.perf_counter() - t, time_factor=factor).to_dict()


def cmd_oneshot(args) -> int:
    from nasbench_lab.outpaths import LOCK_NAME, exclusive, prepare_out_dir
    from nasbench_lab.parallel import check_dask_address, check_workers
    from nasbench_lab.runner import Budget
    from nasbench_lab.strategies import get_strategy, proxy_asks
    from nasbench_lab.strategies.oneshot import get_method
    from nasbench_lab.strategies.oneshot.scoring import table_protocol
    from nasbench_lab.tables.table import open_table

    names = [m.strip() for m in args.method.split(",")]
    if any(not m for m in names) or len(set(names)) != len(names):
        raise NasbenchError(f"METHOD must be a comma-separated list of distinct methods, got {args.method!r}")
    if args.runs <= 0:
        raise NasbenchError(f"--runs must be a positive integer, got {args.runs}")
    if args.seed < 0:
        raise NasbenchError(f"--seed must be a non-negative integer, got {args.seed}")
    check_workers(args.workers)
    check_dask_address(args.dask_scheduler)
    baselines = [b.strip() for b in args.baseline.split(",")] if args.baseline else []
    if baselines and args.budget_seconds is None:
        raise NasbenchError("--baseline needs --budget-seconds (the multi-trial budget, in the same "
                            "CPU seconds as the one-shot search cost)")
    if args.budget_seconds is not None and not baselines:
        raise NasbenchError("--budget-seconds is the budget of the --baseline strategies; give --baseline "
                            "too (a one-shot search runs for its epochs, set with --param epochs=N)")
    params = _params_per_method(args.param, names)
    budget = Budget(seconds=args.budget_seconds) if baselines else None
    for b in baselines:
        get_strategy(b)
    table = open_table(args.table)
    protocol = table_protocol(table)
    for m in names:  # bad hyperparameters: refused before the folder is written
        get_method(m).check_params(protocol, params[m])
    for b in baselines:  # a proxy baseline the table lacks, likewise
        cls = get_strategy(b)
        proxy_asks.check_table(table, cls.asked_proxies(dict(cls.defaults)), b)
    out_dir = prepare_out_dir(args.out)  # a file: one line saying so
    # one writer per results folder, as `run`: a second command into it is refused, not mixed in
    with exclusive(out_dir / LOCK_NAME, f"one-shot results into {out_dir}"):
        return _run_oneshot(args, table, protocol, names, params, baselines, budget)


def _run_oneshot(args, table, protocol, names, params, baselines, budget) -> int:
    """Runs, stores and summarises the searches (under the folder's lock)."""
    from nasbench_lab.cli import _print_json
    from nasbench_lab.parallel import parallel_map
    from nasbench_lab.results import ResultStore
    from nasbench_lab.runner import RunRecord, run_search
    from nasbench_lab.strategies import get_strategy
    from nasbench_lab.strategies.oneshot.base import OneShotResult
    from nasbench_lab.strategies.oneshot.figures import alpha_figure, collapse_figure
    from nasbench_lab.strategies.oneshot.scoring import summarize

    config = {"tables": {table.name: {"path": table.path, "content_hash": table.content_hash}},
              "strategies": {**params, **{b: dict(get_strategy(b).defaults) for b in baselines}},
              "seed": int(args.seed), "budget_seconds": args.budget_seconds if baselines else None,
              "budget_queries": None if baselines else 1, "search_schedule": None,
              "report_schedule": None, "software_version": __version__,
              "oneshot": {"methods": names, "protocol": protocol.to_dict()}}
    store = ResultStore(args.out, config)
    todo = [(m, r) for m in names for r in range(args.runs) if not store.has(table.name, m, r)]
    t0 = time.perf_counter()
    jobs = [(m, params[m], table.path, r, args.seed, config["budget_seconds"]) for m, r in todo]
    # in this process, joblib processes or on a Dask cluster; each run saved as it finishes
    # (completion order), so a killed command resumes with what it had
    for d in parallel_map(_job, jobs, args.workers, args.dask_scheduler):
        store.save(RunRecord.from_dict(d))
        if not args.json:
            print(f"  {d['meta']['strategy']} run {d['meta']['run']} done", flush=True)
    for b in baselines:
        for r in range(args.runs):
            if not store.has(table.name, b, r):
                store.save(run_search(table, b, seed=args.seed, run=r, budget=budget))
    wall = time.perf_counter() - t0
    summary = {}
    bases = set()  # how each stored run's CPU seconds were put on the table's time scale (clock.py)
    for m in names:
        recs = store.load(table.name, m, args.runs)
        summary[m] = summarize(recs, table)
        bases |= {(r.meta.get("time_factor") or {}).get("basis", "not scaled") for r in recs}
        results = [OneShotResult.from_dict(r.meta["oneshot"]) for r in recs]
        alpha_figure(results, store.dir / f"oneshot-alpha-{m}.png")
    for b in baselines:
        recs = store.load(table.name, b, args.runs)
        test = np.array([r.final["test"] for r in recs])
        summary[b] = {"runs": len(recs), "test_mean": float(test.mean()),
                      "test_std": float(test.std(ddof=1)) if len(test) > 1 else 0.0,
                      "cost_mean": float(np.mean([r.final["time"] for r in recs]))}
    collapse_figure(summary, store.dir / "oneshot-collapse.png")
    (store.dir / "oneshot-summary.json").write_text(json.dumps(summary, indent=1, default=str))
    factors = sorted(bases)
    if args.json:
        _print_json({"table": table.name, "new_runs": len(todo), "wall_seconds": round(wall, 3),
                     "out": str(store.dir), "methods": summary, "time_factors": factors})
        return 0
    print(f"one-shot on {table.name} (data: protocol {protocol.name}); {args.runs} runs each "
          f"({len(todo)} new) in {wall:.1f} s wall")
    print("  method      derived-cell test acc (table seed mean)   s/search       none/skip/pool share")
    for m, s in summary.items():
        share = f"{s['param_free_share']:.2f}" if "param_free_share" in s else "-"
        print(f"  {m:11s} {s['test_mean']:6.2f} +- {s['test_std']:5.2f}{'':24s} {s['cost_mean']:9.1f}   {share}")
        if "ops" in s:
            print("              ops: " + ", ".join(f"{k} {v}" for k, v in s["ops"].items()))
    print("  s/search: the search's CPU seconds on the table's time scale; time factor: " + "; ".join(factors))
    print(f"  figures and oneshot-summary.json in {store.dir}; `nasbench-lab report {store.dir}` compares them")
    return 0


def register(sub) -> None:
    from nasbench_lab.strategies.oneshot import METHODS

    s = sub.add_parser(
        "oneshot", help="weight-sharing NAS (DARTS, GDAS, RSPS, SETN) on a live-built table's data",
        description="Train the NB201 supernet for real on the data of TABLE (its training protocol), "
                    "derive a cell per run, and score it by the table (seed-mean accuracy). The cost is "
                    "the measured CPU time of the search, put on the table's time scale (this machine's "
                    "calibration factor in the table, or its measured speed on three reference cells), "
                    "in the unit of the table's train_time. Each "
                    "run is stored in DIR as it finishes (rerun the same command to resume); "
                    "`nasbench-lab report DIR` then compares the methods (and --baseline strategies "
                    "run at --budget-seconds on the same clock).")
    s.epilog = "methods: " + ", ".join(METHODS)
    s.add_argument("method", metavar="METHOD[,METHOD...]", help="one-shot method(s), listed below")
    s.add_argument("--table", required=True, metavar="TABLE", help="a table built by the live backend "
                   "(e.g. nb201-mnist1d)")
    s.add_argument("--runs", type=int, default=10, help="seeded searches per method (default 10)")
    s.add_argument("--seed", type=int, default=0, help="base seed; run i is seeded from (seed, i)")
    s.add_argument("--param", action="append", default=[], metavar="[METHOD:]K=V",
                   help="method hyperparameter, e.g. epochs=10 (repeatable)")
    s.add_argument("--baseline", default=None, metavar="A,B",
                   help="multi-trial strategies to run on the table beside them (needs --budget-seconds)")
    s.add_argument("--budget-seconds", type=float, default=None,
                   help="simulated seconds per baseline run (compare with the one-shot CPU cost)")
    s.add_argument("--workers", type=int, default=1, help="parallel processes (joblib; default 1)")
    s.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="run the searches on a Dask cluster, e.g. tcp://127.0.0.1:8786")
    s.add_argument("--out", required=True, metavar="DIR", help="folder for the runs (reused: finished runs are kept)")
    s.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    s.set_defaults(func=cmd_oneshot)
