"""`nasbench-lab`: the command line. Every user error is one line on stderr, exit code 2."""
from __future__ import annotations

import argparse
import json
import sys
import time

from nasbench_lab import NasbenchError, __version__


def _print_json(obj) -> None:
    """One strict-JSON line (NaN and infinities as null, numpy values as plain Python)."""
    from nasbench_lab.report.format import jsonable

    print(json.dumps(jsonable(obj), indent=None, default=str))


# --- tables / info / import ------------------------------------------------------------------
def cmd_tables(args) -> int:
    from nasbench_lab.tables import builtin_tables

    found = builtin_tables()
    rows = []
    for name, path in found.items():
        try:
            from nasbench_lab.tables import Table

            with Table(path) as t:
                rows.append({"name": name, "path": str(path), "space": t.space.name, "dataset": t.dataset,
                             "schedules": list(t.schedules), "seeds": {s: len(v.seeds) for s, v in t.schedules.items()},
                             "epochs": {s: int(v.epochs) for s, v in t.schedules.items()}})
        except NasbenchError as e:
            rows.append({"name": name, "path": str(path), "error": str(e)})
    if args.json:
        _print_json(rows)
    elif not rows:
        print("no built-in tables found (set NASBENCH_LAB_TABLES to a folder of .h5 tables)")
    else:
        ok = [r for r in rows if "error" not in r]
        wn = max([len("name")] + [len(r["name"]) for r in rows])
        ws = max([len("space")] + [len(r["space"]) for r in ok])
        wd = max([len("dataset")] + [len(r["dataset"]) for r in ok])
        wc = max([len("schedules (epochs x seeds)")] + [len(_schedules_text(r)) for r in ok])
        print(f"{'name':<{wn}}  {'space':<{ws}}  {'dataset':<{wd}}  {'schedules (epochs x seeds)':<{wc}}  file")
        for r in rows:
            if "error" in r:
                print(f"{r['name']:<{wn}}  UNREADABLE: {r['error']}")
            else:
                print(f"{r['name']:<{wn}}  {r['space']:<{ws}}  {r['dataset']:<{wd}}  {_schedules_text(r):<{wc}}  "
                      f"{r['path']}")
    return 0


def _plural(n: int, word: str) -> str:
    """'1 seed', '3 seeds'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _schedules_text(row) -> str:
    """'4 epochs x 3 seeds' per schedule; a schedule whose name is not its epoch count is named."""
    out = []
    for name in row["schedules"]:
        e, k = row["epochs"][name], row["seeds"][name]
        label = "" if str(e) == str(name) else f"{name}: "
        out.append(f"{label}{_plural(e, 'epoch')} x {_plural(k, 'seed')}")
    return ", ".join(out)


def _num(v) -> str:
    """A metric for humans: 2 decimals (JSON output keeps full precision)."""
    return "n/a" if v is None or v != v else f"{float(v):.2f}"


def cmd_info(args) -> int:
    from nasbench_lab.tables import open_table

    t0 = time.perf_counter()
    with open_table(args.table) as t:
        opened = time.perf_counter() - t0
        d = t.describe()
        d["open_ms"] = round(opened * 1e3, 2)
        from nasbench_lab.tables.resolution import table_resolution

        d["resolution"] = {name: table_resolution(t, name) for name in d["schedules"]}
        if args.check:
            d["problems"] = t.check()
            d["check"] = _check_text(d)
    if args.json:
        _print_json(d)
        return 0
    print(f"table {d['name']}  ({d['path']}, opened in {d['open_ms']} ms)")
    print(f"  space {d['space']}, dataset {d['dataset']}, {d['n_archs']} architectures")
    print(f"  built by {d['software_version']} on {d['created']}, content hash {d['content_hash'][:16]}")
    for k, v in d["provenance"].items():
        if k == "built_on" and isinstance(v, dict) and v:  # descriptions hold ';' and '=': one per line
            print("  built_on (trainings per machine):")
            for machine, n in v.items():
                print(f"    {_plain_value(n):>8}  {machine}")
        elif k != "resolution":  # shown per schedule below, computed from the data
            print(f"  {k}: {_plain_value(v)}")
    if d["static"]:
        print(f"  static metrics: {', '.join(d['static'])}")
    print(f"  zero-cost proxies: {', '.join(d['proxies']) if d.get('proxies') else 'none'}")
    for name, s in d["schedules"].items():
        print(f"  schedule {name}: {s['epochs']} epochs (recorded: {s['recorded_epochs']}), seeds "
              f"{', '.join(s['seeds'])}; (architecture, seed) entries: {s['trained_entries']:,} present, "
              f"{s['missing_entries']:,} missing; "
              f"best mean valid acc {_num(s['best_valid_acc_mean'])}; costs: {'yes' if s['has_costs'] else 'no'}")
        print(f"    metrics: {', '.join(s['metrics'])}")
        if s.get("time_calibration"):
            print("    " + _calibration_text(s["time_calibration"]))
        elif s.get("time_calibration_problem"):
            print(f"    times: the calibration cannot be read ({s['time_calibration_problem']})")
        from nasbench_lab.tables.resolution import describe

        r = d["resolution"][name]
        print(f"    resolution (over {r.get('n_cells', 0):,} distinct entries with every seed): {describe(r)}")
    if args.check:
        print("  check: " + d["check"])
    return 1 if args.check and d["problems"] else 0


def _calibration_text(cal: dict) -> str:
    """One line: the times put on one machine's scale (tables/calibration.py), factor per machine."""
    parts = []
    for machine, fit in (cal.get("machines") or {}).items():
        if machine == cal.get("reference"):
            continue
        short = str(machine).split(" (")[0]
        if isinstance(fit, dict) and "median_factor" in fit:
            parts.append(f"{short} x{_plain_value(fit['median_factor'])} (median)")
        else:
            parts.append(f"{short} uncalibrated")
    ref = str(cal.get("reference", "?")).split(" (")[0]
    return (f"times: on the scale of {ref} (measured times of other machines x a factor per cell, fitted "
            f"on log FLOPs; Table.array(..., measured=True) gives them unscaled): {', '.join(parts)}")


def _plain_value(v) -> str:
    """A provenance value for humans: lists as 'a, b', dicts as 'k=v, k=v' (JSON keeps the structure)."""
    if isinstance(v, dict):
        return ", ".join(f"{k}={_plain_value(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return ", ".join(_plain_value(x) for x in v)
    return "yes" if v is True else "no" if v is False else str(v)


def _check_text(d: dict) -> str:
    """'sound, complete', 'sound, partial (N of M trainings)' or the problems found."""
    if d["problems"]:
        return "; ".join(d["problems"])
    prov = d.get("provenance") or {}
    done, total = prov.get("trainings_done"), prov.get("trainings_total")
    try:
        done, total = int(done), int(total)
    except (TypeError, ValueError):
        done = total = None
    if done is not None and done < total:
        return f"sound, partial ({done:,} of {total:,} trainings)"
    present = sum(s["trained_entries"] for s in d["schedules"].values())
    entries = present + sum(s["missing_entries"] for s in d["schedules"].values())
    if present < entries:
        return f"sound, partial ({present:,} of {entries:,} (architecture, seed) entries present)"
    return "sound, complete"


#: import format -> (module, function) of its importer, imported only when used
IMPORTERS = {"nb201": ("nasbench_lab.tables.import_nb201", "import_nb201"),
             "natsbench": ("nasbench_lab.tables.import_natsbench", "import_natsbench"),
             "naslib": ("nasbench_lab.tables.import_naslib", "import_naslib"),
             "nb101": ("nasbench_lab.tables.import_nb101", "import_nb101")}


def cmd_import(args) -> int:
    if args.format not in IMPORTERS:
        raise NasbenchError(f"unknown import format {args.format!r}; valid: {', '.join(IMPORTERS)}")
    import importlib

    from contextlib import nullcontext

    from nasbench_lab.tables.writer import replacing_allowed

    from nasbench_lab.outpaths import check_no_file_above

    check_no_file_above(args.out)
    module, function = IMPORTERS[args.format]
    with replacing_allowed() if getattr(args, "force", False) else nullcontext():
        getattr(importlib.import_module(module), function)(args.source, args.out)
    return 0


# --- run ---------------------------------------------------------------------------------------
def _budget(args):
    from nasbench_lab.runner import Budget

    return Budget(seconds=args.budget_seconds, queries=args.budget_queries)


def split_params(params, names: list[str]) -> dict[str, list[str]]:
    """`--param` values per strategy. `STRATEGY:k=v` goes to that strategy; a bare `k=v` goes
    to every strategy of `names` that has parameter k (an error when none has it)."""
    per: dict[str, list[str]] = {n: [] for n in names}
    for p in params or []:
        key, eq, _ = p.partition("=")
        if not eq or not key.split(":")[-1]:
            raise NasbenchError(f"--param {p!r} must look like key=value or STRATEGY:key=value, "
                                "e.g. population=20 or rea:population=20")
        if ":" in key:
            name, _, k = key.rpartition(":")  # rpartition: the strategy may be file.py:Class
            kv = k + p[len(key):]
            if name not in per:
                from nasbench_lab.strategies import display_name, get_strategy

                # a strategy given as file.py:Class can also be addressed by its class's name
                name = next((n for n in names if ":" in n and display_name(get_strategy(n)) == name), name)
            if name not in per:
                raise NasbenchError(f"--param {p!r} is for {name!r}, which is not among the strategies "
                                    f"run here ({', '.join(names)})")
            per[name].append(kv)
            continue
        if len(names) == 1:
            per[names[0]].append(p)  # the strategy reports an unknown key itself
            continue
        from nasbench_lab.strategies import get_strategy

        takers = [n for n in names if key in get_strategy(n).defaults]
        if not takers:
            raise NasbenchError(f"--param {p!r}: none of {', '.join(names)} has a parameter {key!r}; "
                                "use STRATEGY:key=value to address one strategy")
        for n in takers:
            per[n].append(p)
    return per


def _strategy_spec(name: str, pairs):
    from nasbench_lab.experiment import StrategySpec
    from nasbench_lab.strategies import get_strategy, parse_params

    cls = get_strategy(name)
    return StrategySpec(name, tuple(sorted(parse_params(cls, pairs).items())))


def cmd_run(args) -> int:
    from nasbench_lab.experiment import final_summary, run_experiment

    spec = _strategy_spec(args.strategy, split_params(args.param, [args.strategy])[args.strategy])
    t0 = time.perf_counter()
    store, res = run_experiment([args.table], [spec], runs=args.runs, seed=args.seed, budget=_budget(args),
                                out=args.out, search_schedule=args.search_schedule,
                                report_schedule=args.report_schedule, workers=args.workers,
                                progress=None if not args.json else False, objectives=_objectives(args), report_table=args.report_table)
    wall = time.perf_counter() - t0
    (table, strategy), records = next(iter(res["results"].items()))
    summary = {"strategy": strategy, "table": table, **final_summary(records),
               "search_schedule": records[0].meta["search_schedule"] if records else None,
               "report_schedule": records[0].meta["report_schedule"] if records else None,
               "report_table": records[0].meta.get("report_table", table) if records else None,
               "new_runs": res["new_runs"], "wall_seconds": round(wall, 3), "out": str(store.dir)}
    if args.json:
        _print_json(summary)
        return 0
    v, te = summary["valid"], summary["test"]
    print(f"{strategy} on {table}: {summary['runs']} runs ({res['new_runs']} new) in {wall:.2f} s wall")
    # _num: a table without test accuracy (or runs without a query) has no mean: 'n/a', not a crash
    on = "" if summary["report_table"] in (None, table) else f" of report table {summary['report_table']}"
    print(f"  incumbent ({summary['report_schedule']}-epoch schedule{on}): valid {_num(v['mean'])} +- {_num(v['std'])} "
          f"(median {_num(v['median'])}), test {_num(te['mean'])} +- {_num(te['std'])} (median {_num(te['median'])})")
    print(f"  {summary['queries_mean']:.1f} queries per run on average; results in {store.dir}")
    return 0


def _add_objective_args(p) -> None:
    p.add_argument("--objectives", default=None, metavar="valid_acc,COST[,...]",
                   help="multi-objective: maximise valid_acc, minimise static cost metrics of the table "
                        "(params, flops, latency_ms); the report adds fronts, hypervolume curves and tests")
    p.add_argument("--max-params", type=float, default=None, metavar="N",
                   help="constraint: only cells with params <= N count for the incumbent (infeasible queries "
                        "are still charged: they were trained)")


def _objectives(args):
    from nasbench_lab.objectives import parse_objectives

    return parse_objectives(args.objectives, args.max_params)


def _add_budget_args(p) -> None:
    p.add_argument("--budget-seconds", type=float, default=None, help="simulated seconds per run")
    p.add_argument("--budget-queries", type=int, default=None, help="queries per run")
    p.add_argument("--search-schedule", default=None, help="schedule the strategies query (default: the shortest)")
    p.add_argument("--report-schedule", default=None, help="schedule the incumbent is reported on "
                   "(default: the search schedule; with --report-table: a schedule of that table, default the "
                   "one named like the search schedule, else its only one)")
    p.add_argument("--report-table", default=None, metavar="TABLE",
                   help="report the incumbent's accuracy on this table of the same space (transfer); the "
                        "search still sees only --table")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose epilog may be a callable, called only when its help is printed:
    listing the strategies imports them, and `nasbench-lab --help` must not."""

    def format_help(self):
        if callable(self.epilog):
            self.epilog = self.epilog()
        return super().format_help()


def strategies_epilog() -> str:
    """'strategies: a, b, ...' for --help (imports the strategies, so only when help is printed)."""
    try:
        from nasbench_lab.strategies import strategy_names

        return "strategies: " + ", ".join(strategy_names())
    except Exception:  # noqa: BLE001 - a broken strategy module must not break --help
        return ""


def build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    """The command-line parser: complete (`command="*"`), or with only `command`'s module imported."""
    p = _Parser(prog="nasbench-lab", description="A sandbox for neural architecture search.")
    p.add_argument("--version", action="version", version=f"nasbench_lab {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("tables", help="list the built-in tables",
                       description="List the tables found in datasets/, the package and $NASBENCH_LAB_TABLES.")
    s.add_argument("--json", action="store_true", help="print one JSON list instead")
    s.set_defaults(func=cmd_tables)

    s = sub.add_parser("info", help="describe a table", description="Schedules, seeds, metrics and "
                       "provenance of a table; --check also scans it.")
    s.add_argument("table", metavar="TABLE", help="built-in table name or path to a .h5 table")
    s.add_argument("--check", action="store_true", help="also scan every array for holes and verify the content hash")
    s.add_argument("--json", action="store_true", help="print one JSON object instead")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("import", help="convert a published benchmark into a table",
                       description="Convert a published benchmark into a table file.")
    s.add_argument("format", metavar="FORMAT", help="nb201 | natsbench | naslib | nb101")
    s.add_argument("source", metavar="SOURCE", help="nb201/naslib/natsbench: a directory; nb101: the "
                   ".tfrecord file (or a directory holding one)")
    s.add_argument("--out", required=True, metavar="FILE.h5", help="table file to write")
    s.add_argument("--force", action="store_true",
                   help="replace an existing file at --out even if it is another table (default: only "
                        "an earlier import of the same source is replaced)")
    s.set_defaults(func=cmd_import)

    s = sub.add_parser("run", help="many seeded runs of one strategy on one table",
                       description="Run N seeded runs of one strategy on one table; each run is stored in DIR "
                                   "as it finishes (rerun the same command to resume or reuse). Give a budget "
                                   "in simulated seconds, in queries, or both (a run stops at the first "
                                   "one reached).")
    s.epilog = strategies_epilog
    s.add_argument("--table", required=True, metavar="TABLE", help="built-in table name or path to a .h5 table")
    s.add_argument("--strategy", required=True, metavar="NAME", help="search strategy (listed below)")
    s.add_argument("--param", action="append", default=[], metavar="[STRATEGY:]K=V",
                   help="strategy parameter, e.g. population=20 (repeatable)")
    s.add_argument("--runs", type=int, default=100, help="number of runs (default 100)")
    s.add_argument("--seed", type=int, default=0, help="base seed; run i is seeded from (seed, i) (default 0)")
    _add_budget_args(s)
    _add_objective_args(s)
    s.add_argument("--workers", type=int, default=1, help="parallel processes (joblib; default 1)")
    s.add_argument("--out", required=True, metavar="DIR", help="folder for the runs (reused: finished runs are kept)")
    s.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    s.set_defaults(func=cmd_run)

    _add_extra_commands(sub, command)
    return p


#: subcommands that live next to their modules (each module gives `register(subparsers)`), with
#: the one-line help that `nasbench-lab --help` shows without importing them (a test checks
#: that it is the module's own)
EXTRA_COMMANDS = {
    "compare": ("nasbench_lab.compare_cli", "many paired runs of several strategies; statistics, plots and an "
                "HTML report"),
    "report": ("nasbench_lab.compare_cli", "regenerate DIR/report.html and DIR/summary.json from stored runs"),
    "train": ("nasbench_lab.live.cli", "train one NB201 architecture with the numpy backend"),
    "build": ("nasbench_lab.tables.build_cli", "train every distinct cell of a space into a table (resumable)"),
    "verify": ("nasbench_lab.tables.build_cli", "retrain top incumbents (or random entries) live and compare "
               "with the table"),
    "exercise": ("nasbench_lab.exercises.cli", "classroom exercises: list, start NAME DIR, grade DIR"),
    "oneshot": ("nasbench_lab.strategies.oneshot.cli", "weight-sharing NAS (DARTS, GDAS, RSPS, SETN) on a "
                "live-built table's data"),
    "proxies": ("nasbench_lab.proxies.cli", "zero-cost proxies of every distinct cell of a live-built table "
                "(resumable); --evaluate: their rank correlation with accuracy"),
    "strategies": ("nasbench_lab.strategies.cli", "list the strategies: parameters, defaults, one line of "
                   "documentation"),
    "transfer": ("nasbench_lab.transfer.cli", "rank correlation and top-k overlap of the cells' final accuracy "
                 "between tables of one space"),
}


def _add_extra_commands(sub, command: str | None) -> None:
    """Register the modules' subcommands: all of them (`command="*"`), or only the module of
    `command`; the others get a one-line stub (all `--help` of the top level needs)."""
    import importlib

    wanted = [m for n, (m, _) in EXTRA_COMMANDS.items() if command == "*" or n == command]
    for mod in dict.fromkeys(wanted):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name and mod.startswith(e.name):
                continue
            raise
        if hasattr(m, "register"):
            m.register(sub)
    for name, (_, text) in EXTRA_COMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=text)


def _command_word(argv) -> str | None:
    """The subcommand named on the command line (the top level has only flags without values)."""
    args = sys.argv[1:] if argv is None else argv
    return next((str(a) for a in args if not str(a).startswith("-")), None)


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so Python's final flush does not raise on the closed pipe."""
    import os

    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, sys.stdout.fileno())
        os.close(fd)
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (captured by a test)
        pass


def main(argv=None) -> int:
    parser = build_parser(_command_word(argv))
    try:
        args = parser.parse_args(argv)  # inside: `--help | head` closes the pipe too
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly, as Unix tools do
        _discard_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a command that `head` cut short
    except NasbenchError as e:
        print(f"nasbench-lab: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nasbench-lab: interrupted; finished results are kept", file=sys.stderr)
        return 130
    except OSError as e:  # a file system refusal not foreseen above (disk full, permissions): one line
        where = f" ({e.filename})" if getattr(e, "filename", None) else ""
        print(f"nasbench-lab: error: {e.strerror or e}{where}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
