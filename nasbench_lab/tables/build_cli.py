"""`nasbench-lab build` and `nasbench-lab verify`."""
from __future__ import annotations

import json

from nasbench_lab import NasbenchError


def _protocol(name: str):
    from nasbench_lab.live.protocol import PROTOCOLS

    if name not in PROTOCOLS:
        raise NasbenchError(f"unknown protocol {name!r}; valid: {', '.join(sorted(PROTOCOLS))}")
    return PROTOCOLS[name]


def _seeds(text: str) -> list[int]:
    try:
        return [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise NasbenchError(f"--seeds must be comma-separated integers, got {text!r}") from None


def cmd_build(args) -> int:
    from nasbench_lab.tables.build import build_table

    from nasbench_lab.parallel import check_dask_address, check_workers

    check_workers(args.workers)
    check_dask_address(args.dask_scheduler)
    s = build_table(args.out, protocol=_protocol(args.protocol), seeds=_seeds(args.seeds), space=args.space,
                    limit=args.limit, workers=args.workers, dask_scheduler=args.dask_scheduler,
                    max_jobs=args.max_jobs, name=args.name)
    if args.proxies:  # cheap next to the trainings (about 0.08 CPU s per cell and seed against ~1 s)
        from nasbench_lab.proxies.compute import compute_proxies

        s["proxies"] = compute_proxies(args.out, seeds=_seeds(args.seeds), workers=args.workers,
                                       trained_only=True)
    if args.json:
        print(json.dumps(s))
    return 0


def cmd_verify(args) -> int:
    from nasbench_lab.parallel import check_workers
    from nasbench_lab.verify import verify_random, verify_results

    check_workers(args.workers)

    if args.random is not None:
        if not args.table:
            raise NasbenchError("verify --random K needs --table TABLE")
        res = {"tables": {args.table: verify_random(args.table, args.random, args.seeds, workers=args.workers)}}
    else:
        if not args.results_dir:
            raise NasbenchError("give RESULTS_DIR (a compare or run --out) or --random K --table TABLE")
        res = verify_results(args.results_dir, args.top, args.seeds, workers=args.workers)
    if args.json:
        print(json.dumps(res))
        return 0
    for tname, r in res["tables"].items():
        print(f"table {tname}: {r['metric']} at the last epoch, table seeds vs live retraining on seeds "
              f"{r['fresh_seeds']}")
        print(f"  {'index':>6} {'table mean':>10} {'+-std':>6} {'live':>7} {'diff':>6}  within  arch")
        for a in r["architectures"]:
            print(f"  {a['index']:>6} {a['table_mean']:>10.2f} {a['table_std']:>6.2f} {a['live_mean']:>7.2f} "
                  f"{a['difference']:>+6.2f}  {'yes' if a['within_seed_spread'] else 'NO':<6}  {a['arch']}")
        rho = (f"n/a ({r.get('spearman_undefined_because') or 'undefined'})" if r["spearman"] is None
               else f"{r['spearman']:.3f}")
        print(f"  agreement: Spearman {rho}; {100 * r['share_within_spread']:.0f}% within the table's seed "
              f"spread; mean |difference| {r['mean_abs_difference']:.2f} points; mean live - table "
              f"{r['mean_difference']:+.2f} points")
        if args.random is None and r["mean_difference"] < 0:
            print("  note: incumbents are chosen because their table values are high, partly by luck, so on "
                  "fresh seeds they tend to score lower (regression to the mean); a Spearman near 0 among "
                  "near-equal top cells means the table cannot rank them, not that it is wrong")
    return 0


def register(sub) -> None:
    s = sub.add_parser("build", help="train every distinct cell of a space into a table (resumable)",
                       description="Train every distinct cell (one per canonical key) for each seed and write "
                                   "the table. Each finished training is journalled in FILE.h5.parts/; a build "
                                   "killed at any moment resumes where it stopped when rerun with the same "
                                   "command, and entries of an existing table at FILE.h5 are kept.")
    s.add_argument("--out", required=True, metavar="FILE.h5", help="table to write (or resume)")
    s.add_argument("--protocol", default="builtin-mnist1d",
                   help="training protocol: builtin-mnist1d (default), small-mnist1d, digits")
    s.add_argument("--space", default="nb201", help="search space: nb201 (default) or nb201-3ops")
    s.add_argument("--seeds", default="0,1,2", help="comma-separated training seeds")
    s.add_argument("--limit", type=int, default=None, help="train only this many distinct cells (a fixed subset)")
    s.add_argument("--max-jobs", type=int, default=None, help="stop after this many new trainings")
    s.add_argument("--name", default=None, help="table name (default: the file name)")
    s.add_argument("--workers", type=int, default=1, help="parallel processes (joblib)")
    s.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="run the trainings on a Dask cluster, e.g. tcp://127.0.0.1:8786")
    s.add_argument("--proxies", action="store_true",
                   help="then compute the zero-cost proxies of the cells trained into the table, the build's "
                        "seeds as init seeds (as `nasbench-lab proxies FILE.h5`, resumable)")
    s.add_argument("--json", action="store_true", help="print a JSON summary")
    s.set_defaults(func=cmd_build)

    s = sub.add_parser("verify", help="retrain top incumbents (or random entries) live and compare with the table",
                       description="Retrain architectures with the live backend on fresh seeds (seeds the table "
                                   "does not hold), under the table's own protocol, and compare with the table: "
                                   "per architecture the table's seed mean and std vs the live mean; overall "
                                   "Spearman rank correlation and the share of live means within the table's "
                                   "seed spread. Needs a table built by `nasbench-lab build`.")
    s.add_argument("results_dir", nargs="?", metavar="RESULTS_DIR",
                   help="a `compare` or `run` output directory: verify its top incumbents")
    s.add_argument("--top", type=int, default=5,
                   help="how many incumbents, best table validation accuracy first (default 5)")
    s.add_argument("--random", type=int, default=None, metavar="K",
                   help="instead: spot-check K random fully trained entries of --table")
    s.add_argument("--table", default=None, help="table for --random (name or path)")
    s.add_argument("--seeds", type=int, default=2, help="fresh seeds per architecture (default 2)")
    s.add_argument("--workers", type=int, default=1, help="parallel processes (joblib)")
    s.add_argument("--json", action="store_true", help="print the full result as JSON")
    s.set_defaults(func=cmd_verify)
