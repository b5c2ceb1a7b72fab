"""Paired comparison of one strategy between two compare folders run with the same seed.

Two `nasbench-lab compare` runs with the same `--seed`, table and budget give each run index
the same noise stream, so run i of folder A and run i of folder B are a pair even when the
strategy's parameters differ (e.g. `proxy_rea` with `--param proxy=params` in B). A compare
cannot hold one strategy twice; this script answers "does the parameter change help?" with
the statistics `compare` uses: Wilcoxon signed-rank paired by run index (scipy.stats), A12,
and Holm over every (folder pair, strategy) tested in one call.

    python analysis/paired_dirs.py runs/proxies-hard/cmp150 runs/proxies-hard/cmp150-params \
        runs/proxies-hard/cmp30 runs/proxies-hard/cmp30-params --strategies proxy_rea,proxy_random

Reads each folder's summary.json (written by compare and report; the metric is the one
the folder's last report used).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nasbench_lab.stats import holm, vargha_delaney_a12  # noqa: E402


def fail(message: str):
    """One line on stderr, exit status 2 (bad input), as the CLI does."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _summary(folder: Path) -> dict:
    """The folder's summary.json, checked to be a compare summary (one line and exit 2 if not)."""
    if not folder.exists():
        fail(f"{folder / 'summary.json'} not found: {folder} does not exist; give the --out folder of a compare")
    if not folder.is_dir():
        fail(f"{folder} is a file, not a folder: give the --out folder of a compare")
    path = folder / "summary.json"
    if not path.is_file():
        hint = (f"run `nasbench-lab report {folder}` first" if (folder / "config.json").is_file()
                else "give the --out folder of a compare")
        fail(f"{path} not found: {hint}")
    try:
        s = json.loads(path.read_text())
        tables, setup = s["tables"], s["setup"]
        if not (isinstance(tables, dict) and isinstance(setup, dict)
                and all(isinstance(t, dict) and isinstance(t["per_run"], dict) for t in tables.values())):
            raise TypeError("tables, setup or per_run is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as e:
        fail(f"{path} is not a compare summary ({e.__class__.__name__}): rerun `nasbench-lab "
             f"report {folder}` to rewrite it")
    if len(tables) != 1:
        fail(f"{folder} compares on {len(tables)} tables; give one-table folders")
    return s


#: what must agree for run i of two folders to be a pair (the strategy's parameters may differ)
PAIRING = ("seed", "budget_seconds", "budget_queries", "search_schedule", "report_schedule")


def check_paired(a_dir, b_dir, sa: dict, sb: dict) -> None:
    """One line and exit 2 unless A and B ran on the same table with the same seed and budget."""
    def content_hash(s, name):
        t = s["setup"].get("tables")
        t = t.get(name) if isinstance(t, dict) else None
        return t.get("content_hash") if isinstance(t, dict) else None

    (ta,), (tb,) = sa["tables"], sb["tables"]
    ha, hb = content_hash(sa, ta), content_hash(sb, tb)
    if ta != tb or ha != hb:
        fail(f"{a_dir} ran on table {ta!r} and {b_dir} on {tb!r}"
             + (" (another content)" if ta == tb else "") + ": runs pair only on the same table")
    ua, ub = sa["setup"], sb["setup"]
    diff = [f"{k} {ua.get(k)} vs {ub.get(k)}" for k in PAIRING if ua.get(k) != ub.get(k)]
    if diff:
        fail(f"{a_dir} and {b_dir} differ in {', '.join(diff)}: runs pair only with the same --seed, "
             "budget and schedules; rerun one of them so")


def per_run(folder: Path, strategy: str, s: dict | None = None) -> tuple[dict, str]:
    """{run index: final value (NaN: the run has none)} of `strategy` in `folder`, and the metric's name."""
    s = _summary(folder) if s is None else s
    (table,) = s["tables"].values()
    metric = s["setup"].get("metric", "test")
    if strategy not in table["per_run"]:
        fail(f"{folder} has no strategy {strategy!r} (it has {', '.join(map(str, table['per_run']))})")
    try:
        values = table["per_run"][strategy][metric]
        return {int(k): math.nan if v is None else float(v) for k, v in values.items()}, metric
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        fail(f"{folder / 'summary.json'} has no readable final {metric} values of {strategy!r} "
             f"({e.__class__.__name__}): rerun `nasbench-lab report {folder}` to rewrite it")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+", help="pairs of compare folders: A1 B1 [A2 B2 ...]")
    ap.add_argument("--strategies", required=True, help="comma-separated strategies in every folder")
    args = ap.parse_args(argv)
    if len(args.folders) % 2:
        fail("give the folders in pairs (A1 B1 A2 B2 ...)")
    strategies = [x.strip() for x in args.strategies.split(",")]
    if not all(strategies) or len(set(strategies)) != len(strategies):
        fail(f"--strategies must name distinct strategies, comma-separated, got {args.strategies!r}")
    rows = []
    for a_dir, b_dir in zip(args.folders[::2], args.folders[1::2]):
        sa, sb = _summary(Path(a_dir)), _summary(Path(b_dir))
        check_paired(a_dir, b_dir, sa, sb)
        for strat in strategies:
            a, metric = per_run(Path(a_dir), strat, sa)
            b, metric_b = per_run(Path(b_dir), strat, sb)
            if metric != metric_b:
                fail(f"{a_dir} reports {metric}, {b_dir} {metric_b}: rerun "
                     "`nasbench-lab report DIR --metric M` on one")
            # as compare: a run without a final value (NaN) drops its pair
            common = sorted(i for i in set(a) & set(b) if not (math.isnan(a[i]) or math.isnan(b[i])))
            if len(common) < 6:
                fail(f"{a_dir} and {b_dir} share {len(common)} run indices with a final value for "
                     f"{strat} (6 needed); run both with the same --seed and more --runs")
            x, y = np.array([a[i] for i in common]), np.array([b[i] for i in common])
            # as compare: zero differences dropped ("wilcox"), two-sided; all equal: p = 1
            p = float(wilcoxon(x, y, zero_method="wilcox").pvalue) if np.any(x != y) else 1.0
            rows.append((a_dir, b_dir, strat, metric, x, y, p))
    adjusted = holm([r[-1] for r in rows])
    print("paired by run index; Wilcoxon signed-rank, Holm over the rows; A12 = P(A > B)")
    for (a_dir, b_dir, strat, metric, x, y, p), ph in zip(rows, adjusted):
        print(f"{strat}: {Path(a_dir).name} vs {Path(b_dir).name} ({len(x)} runs, final {metric}): "
              f"median {np.median(x):.2f} vs {np.median(y):.2f}, mean {x.mean():.2f} +- "
              f"{x.std(ddof=1):.2f} vs {y.mean():.2f} +- {y.std(ddof=1):.2f}; "
              f"p {p:.2g}, Holm p {ph:.2g}, A12 {vargha_delaney_a12(x, y):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
