"""`nasbench-lab transfer T1 T2 [...]`: rank agreement of tables over one space (text, --json, --png)."""
from __future__ import annotations

import json
import time

from nasbench_lab import NasbenchError

HELP = "rank correlation and top-k overlap of the cells' final accuracy between tables of one space"


def _schedules(tables, given: list[str]) -> list:
    out = [None] * len(tables)
    for g in given:
        name, sep, sch = g.rpartition("=")
        if not sep or not name or not sch:
            raise NasbenchError(f"--schedule {g!r}: expected TABLE=SCHEDULE, e.g. nb201-cifar10-valid=200")
        hits = [i for i, t in enumerate(tables) if name in (t.name, t.path, t.given)]
        if not hits:
            raise NasbenchError(f"--schedule {g!r}: {name!r} is not one of the tables given "
                                f"({', '.join(t.name for t in tables)})")
        for i in hits:
            out[i] = tables[i].schedule(sch).name
    return out


def _fmt(d: dict) -> str:
    v, lo, hi = d["value"], d["ci_low"], d["ci_high"]
    if v != v:
        return "n/a"
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if lo == lo and hi == hi else f"{v:.3f}"


def text_lines(summary: dict) -> list[str]:
    level = None
    lines = ["tables:"]
    for t in summary["tables"]:
        lines.append(f"  {t['name']}: {t['dataset']}, schedule {t['schedule']} ({t['epochs']} epochs, last epoch, "
                     f"seed mean), hash {t['content_hash'][:12]}; {t['cells']}")
    unit = "distinct canonical cells" if summary["cells"] == "distinct" else "cells"
    for p in summary["pairs"]:
        lines.append(f"{p['a']} -> {p['b']}:")
        for m, r in p["metrics"].items():
            if "skipped" in r:
                lines.append(f"  {m}: skipped ({r['skipped']})")
                continue
            level = r["level"]
            ov = ", ".join(f"top-{k} {o['share']:.2f}" + (f" (k={o['k']})" if k.endswith("%") else "")
                           for k, o in r["overlap"].items())
            chance = ", ".join(f"{o['chance']:.4f}" for o in r["overlap"].values())
            lines += [f"  {m} over {r['n']:,} {unit}" + (f" ({r['n_missing']} without a value left out)"
                                                        if r["n_missing"] else "") + ":",
                      f"    overall   Spearman {_fmt(r['spearman_overall'])}  Kendall {_fmt(r['kendall_overall'])}",
                      f"    top 10% of {p['a']} ({r['n_top']} cells)  Spearman {_fmt(r['spearman_top'])}  "
                      f"Kendall {_fmt(r['kendall_top'])}",
                      f"    overlap   {ov} (chance {chance})"]
    if level is not None:
        n_res = next(r["n_resamples"] for p in summary["pairs"] for r in p["metrics"].values() if "level" in r)
        lines.append(f"[intervals: {level:.0%} percentile bootstrap over cells, {n_res} resamples, seed "
                     f"{summary['seed']}; top 10%: the first table's best cells, measured on the second]")
    return lines


def cmd_transfer(args) -> int:
    from nasbench_lab.report.format import jsonable
    from nasbench_lab.tables.table import open_table
    from nasbench_lab.transfer.pairs import transfer_summary, values_of

    if len(args.tables) < 2:
        raise NasbenchError("transfer needs at least two tables, e.g. nasbench-lab transfer nb201-cifar10-valid "
                            "nb201-cifar100")
    if args.seed < 0:
        raise NasbenchError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.resamples < 0:
        raise NasbenchError(f"--resamples must be 0 or more, got {args.resamples}")
    png = None
    if args.png:
        from nasbench_lab.outpaths import prepare_out_file

        png = prepare_out_file(args.png, "--png", ".png")
    t0 = time.perf_counter()
    tables = []
    try:
        for name in args.tables:
            t = open_table(name)
            t.given = name
            tables.append(t)
        names = [t.name for t in tables]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise NasbenchError(f"table {dup[0]!r} is given twice")
        schedules = _schedules(tables, args.schedule)
        summary = transfer_summary(tables, schedules, cells=args.cells, n_resamples=args.resamples, seed=args.seed)
        if png is not None:
            from nasbench_lab.transfer.figure import plot_transfer

            plot_transfer(summary, values_of(tables, [t["schedule"] for t in summary["tables"]], args.cells), png)
    finally:
        for t in tables:
            t.close()
    summary["wall_seconds"] = round(time.perf_counter() - t0, 2)
    if png is not None:
        summary["png"] = str(png)
    if args.json:
        print(json.dumps(jsonable(summary)))
        return 0
    print("\n".join(text_lines(summary)))
    print(f"done in {summary['wall_seconds']:.1f} s" + (f"; figure: {png}" if png is not None else ""))
    return 0


def register(sub) -> None:
    s = sub.add_parser("transfer", help=HELP,
                       description="For every pair of tables over one search space: Spearman and Kendall tau of "
                                   "the cells' final test and validation accuracy (seed mean, last epoch of the "
                                   "schedule), overall and within the first table's top 10%, top-k overlap, with "
                                   "percentile bootstrap intervals; over distinct canonical cells by default.")
    s.add_argument("tables", nargs="+", metavar="TABLE", help="two or more built-in table names or paths")
    s.add_argument("--schedule", action="append", default=[], metavar="TABLE=E",
                   help="schedule of one table (default: its longest); repeatable")
    s.add_argument("--cells", choices=("distinct", "all"), default="distinct",
                   help="distinct: one value per canonical class (default); all: every cell index")
    s.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1000; 0: no intervals)")
    s.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    s.add_argument("--png", default=None, metavar="FILE.png", help="write the figure (scatter per pair, matrices)")
    s.add_argument("--json", action="store_true", help="print every number as one JSON object")
    s.set_defaults(func=cmd_transfer)
