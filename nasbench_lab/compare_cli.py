"""`nasbench-lab compare` and `nasbench-lab report`: several strategies, many paired runs, one report.

compare  runs (or reuses) N seeded runs of every strategy on every table through
         `experiment.run_experiment` (joblib processes or a Dask cluster; each run stored as it
         finishes, so a killed compare resumes where it stopped), then writes DIR/report.html
         and DIR/summary.json and prints the ranking per table (median, group letters) and the
         significant pairs.
report   recomputes DIR/summary.json and DIR/report.html from the stored runs, without
         running anything.
"""
from __future__ import annotations

import shlex
import time

from nasbench_lab import NasbenchError


def _split(text: str, what: str) -> list[str]:
    items = [x.strip() for x in (text or "").split(",")]
    if not items or any(not x for x in items):
        raise NasbenchError(f"--{what} must be a comma-separated list without empty items, got {text!r}")
    dup = sorted({x for x in items if items.count(x) > 1})
    if dup:
        raise NasbenchError(f"--{what} names {', '.join(dup)} twice")
    return items


def _strategy_specs(names: list[str], params: list[str]):
    from nasbench_lab.cli import _strategy_spec, split_params

    per = split_params(params, names)
    return [_strategy_spec(n, per[n]) for n in names]


def _command_line(args) -> str:
    parts = ["nasbench-lab", "compare", "--table", args.table, "--strategies", args.strategies,
             "--runs", str(args.runs), "--seed", str(args.seed)]
    for flag, v in (("--budget-seconds", args.budget_seconds), ("--budget-queries", args.budget_queries),
                    ("--search-schedule", args.search_schedule), ("--report-schedule", args.report_schedule),
                    ("--report-table", args.report_table)):
        if v is not None:
            parts += [flag, f"{v:g}" if isinstance(v, float) else str(v)]
    for p in args.param:
        parts += ["--param", p]
    if args.objectives is not None:
        parts += ["--objectives", args.objectives]
    if args.max_params is not None:
        parts += ["--max-params", f"{args.max_params:g}"]
    if args.metric != "test":
        parts += ["--metric", args.metric]
    if args.test != "wilcoxon":
        parts += ["--test", args.test]
    if args.alpha != 0.05:
        parts += ["--alpha", str(args.alpha)]
    if args.workers != 1:
        parts += ["--workers", str(args.workers)]
    if args.dask_scheduler:
        parts += ["--dask-scheduler", args.dask_scheduler]
    parts += ["--out", args.out]
    return shlex.join(parts)


def _check_reportable(tables: list[str], search_schedule, report_schedule) -> None:
    """The report compares and plots test accuracy: a table whose report schedule has none
    (a valid table may omit it) is refused before anything runs or is written."""
    from nasbench_lab.tables.table import open_table

    for name in tables:
        with open_table(name) as t:
            sch = t.schedule(report_schedule if report_schedule is not None else search_schedule)
            if "test_acc" not in sch.metrics:
                raise NasbenchError(f"table {t.name!r} has no test accuracy in schedule {sch.name!r}, which "
                                    "the compare report needs; use `nasbench-lab run` on it, or another "
                                    "--report-schedule")


def cmd_compare(args) -> int:
    from nasbench_lab.cli import _budget, _objectives, _print_json
    from nasbench_lab.experiment import portable_specs, run_experiment
    from nasbench_lab.report import (REPORT_HTML, build_report, headline, table_facts, text_summary,
                                     write_manifest)

    tables = _split(args.table, "table")
    names = _split(args.strategies, "strategies")
    # a strategy given as file.py:Class or module:Class is stored under its class's name
    specs = portable_specs(_strategy_specs(names, args.param), parallel=args.workers > 1 or bool(args.dask_scheduler))
    names = [s.name for s in specs]
    if args.runs <= 0:
        raise NasbenchError(f"--runs must be a positive integer, got {args.runs}")
    if not 0 < args.alpha < 1:
        raise NasbenchError(f"--alpha must be in (0, 1), got {args.alpha}")
    budget = _budget(args)
    objectives = _objectives(args)
    if args.report_table is None:  # (a report table's metrics are checked by run_experiment)
        _check_reportable(tables, args.search_schedule, args.report_schedule)
    manifest = {"command": _command_line(args), "tables": [], "strategies": names, "runs": args.runs,
                "metric": args.metric, "test": args.test, "alpha": args.alpha, "table_facts": {},
                "wall_seconds": None}

    def on_start(store, opened):
        from nasbench_lab.report.manifest import report_table_of

        rt, rsched = report_table_of(store.config)  # B of --report-table, as recorded in the config
        manifest["tables"] = [t.name for t in opened]
        manifest["table_facts"] = {t.name: table_facts(t, args.search_schedule,
                                                       args.report_schedule if rt is None else rsched, rt)
                                   for t in opened}
        if objectives.max_params is not None:  # the oracle is the best cell under the cap
            from nasbench_lab.objectives import constrained_oracle

            for t in opened:
                f = manifest["table_facts"][t.name]
                f["oracle"] = constrained_oracle(t, f["report_schedule"], objectives.max_params)
        write_manifest(store.dir, manifest)

    t0 = time.perf_counter()
    store, res = run_experiment(tables, specs, runs=args.runs, seed=args.seed, budget=budget, out=args.out,
                                search_schedule=args.search_schedule, report_schedule=args.report_schedule,
                                workers=args.workers, dask_scheduler=args.dask_scheduler,
                                progress=False if args.json else None, on_start=on_start, objectives=objectives,
                                report_table=args.report_table)
    t_runs = time.perf_counter() - t0
    manifest["wall_seconds"] = round(t_runs, 3)
    manifest["new_runs"] = res["new_runs"]
    write_manifest(store.dir, manifest)
    summary = build_report(store.dir)
    wall = time.perf_counter() - t0
    if args.json:
        _print_json({**headline(summary), "new_runs": res["new_runs"], "runs_wall_seconds": round(t_runs, 3),
                     "wall_seconds": round(wall, 3), "report": str(store.dir / REPORT_HTML)})
        return 0
    print(text_summary(summary))
    print(f"{res['new_runs']} new runs in {t_runs:.1f} s, report in {wall - t_runs:.1f} s "
          f"({wall:.1f} s wall); report: {store.dir / REPORT_HTML}")
    return 0


def cmd_report(args) -> int:
    from nasbench_lab.cli import _print_json
    from nasbench_lab.report import build_report, headline, report_paths, text_summary

    t0 = time.perf_counter()
    summary = build_report(args.dir, metric=args.metric, test=args.test, alpha=args.alpha, html_path=args.out)
    wall = time.perf_counter() - t0
    page, numbers = report_paths(args.dir, args.out)
    if args.json:
        _print_json({**headline(summary), "wall_seconds": round(wall, 3), "report": str(page),
                     "summary": str(numbers)})
        return 0
    print(text_summary(summary))
    print(f"report regenerated in {wall:.1f} s: {page} (numbers: {numbers})")
    return 0


def register(sub) -> None:
    from nasbench_lab.cli import _add_budget_args, _add_objective_args, strategies_epilog

    s = sub.add_parser(
        "compare", help="many paired runs of several strategies; statistics, plots and an HTML report",
        description="Run N seeded runs of every strategy on every table (run i of every strategy sees "
                    "the same table noise, so runs are paired), store each run as it finishes (rerun "
                    "the same command to resume or reuse), then write DIR/report.html and "
                    "DIR/summary.json.")
    s.add_argument("--table", required=True, metavar="TABLE[,TABLE...]",
                   help="built-in table names or paths; several tables add a Friedman/Nemenyi ranking")
    s.add_argument("--strategies", required=True, metavar="A,B,...",
                   help="strategies to compare (`nasbench-lab compare --help` lists them below)")
    s.add_argument("--param", action="append", default=[], metavar="[STRATEGY:]K=V",
                   help="strategy parameter, e.g. rea:population=20; without STRATEGY: it goes to every "
                        "strategy that has that parameter (repeatable)")
    s.add_argument("--runs", type=int, default=100, help="runs per strategy and table (default 100)")
    s.add_argument("--seed", type=int, default=0, help="base seed; run i uses the same seed stream for every "
                   "strategy (default 0)")
    _add_budget_args(s)
    _add_objective_args(s)
    s.add_argument("--metric", choices=("test", "valid"), default="test",
                   help="final value the tests and ranks compare (default: the incumbent's test accuracy)")
    s.add_argument("--test", choices=("wilcoxon", "mann-whitney"), default="wilcoxon",
                   help="pairwise test: Wilcoxon signed-rank paired by run (default) or Mann-Whitney U")
    s.add_argument("--alpha", type=float, default=0.05, help="significance level after Holm (default 0.05)")
    s.add_argument("--workers", type=int, default=1, help="parallel processes (joblib)")
    s.add_argument("--dask-scheduler", default=None, metavar="ADDRESS",
                   help="run on a Dask cluster, e.g. tcp://127.0.0.1:8786")
    s.add_argument("--out", required=True, metavar="DIR",
                   help="folder for the runs, report.html and summary.json (reused: finished runs are kept)")
    s.add_argument("--json", action="store_true", help="print the headline numbers as JSON")
    s.set_defaults(func=cmd_compare)
    s.epilog = strategies_epilog  # a callable: filled in only when --help is printed

    r = sub.add_parser("report", help="regenerate DIR/report.html and DIR/summary.json from stored runs",
                       description="Recompute every statistic and figure from the runs stored in DIR "
                                   "(the --out of compare or run); nothing is rerun.")
    r.add_argument("dir", metavar="DIR", help="output folder of a compare or run")
    r.add_argument("--metric", choices=("test", "valid"), default=None,
                   help="final value the tests and ranks compare (default: what the compare used)")
    r.add_argument("--test", choices=("wilcoxon", "mann-whitney"), default=None,
                   help="pairwise test (default: what the compare used)")
    r.add_argument("--alpha", type=float, default=None,
                   help="significance level after Holm (default: what the compare used)")
    r.add_argument("--out", default=None, metavar="FILE",
                   help="write the page to FILE and its numbers to FILE with .json, leaving DIR/report.html "
                        "alone (default: DIR/report.html and DIR/summary.json)")
    r.add_argument("--json", action="store_true", help="print the headline numbers as JSON")
    r.set_defaults(func=cmd_report)
