"""What a report knows besides the runs: table facts (identity, schedules, oracle) and the
compare manifest (DIR/compare.json: command line and settings of the latest compare)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.report.format import jsonable as _jsonable
from nasbench_lab.report.format import num as _num
from nasbench_lab import results_check
from nasbench_lab.results import ResultStore, _atomic_write_json

COMPARE_JSON = "compare.json"
SUMMARY_JSON = "summary.json"
REPORT_HTML = "report.html"
SCHEMA = "nasbench_lab.compare-summary/1"

METRICS = ("test", "valid", "regret")
METRIC_LABEL = {"test": "test accuracy (%)", "valid": "validation accuracy (%)",
                "regret": "validation regret (pp)"}
TESTS = {"wilcoxon": "Wilcoxon signed-rank (paired by run index)",
         "mann-whitney": "Mann-Whitney U (unpaired)"}
GRID_POINTS = 200
LEVEL = 0.95
N_BOOT = 4000


# ---------------------------------------------------------------------------------------
# Table facts and the compare manifest
# ---------------------------------------------------------------------------------------

def table_facts(table, search_schedule=None, report_schedule=None, report_table=None) -> dict:
    """What the report needs to know about a table: identity, schedules, oracle, and how
    finely its report schedule resolves differences (`tables.resolution`). With a
    `report_table` (B, same space; `report_schedule` then names B's schedule) every report
    fact (report schedule, oracle, best test, resolution) is B's, and "report_table" names it."""
    from nasbench_lab.tables.resolution import table_resolution

    search = table.schedule(search_schedule)
    rt = table if report_table is None else report_table
    report = rt.schedule(report_schedule if report_schedule is not None else search.name)
    idx = np.arange(table.n_archs)
    valid = np.asarray(rt.lookup("valid_acc", idx, report.name), dtype=float)
    test = (np.asarray(rt.lookup("test_acc", idx, report.name), dtype=float)
            if "test_acc" in report.metrics else np.full(table.n_archs, np.nan))
    if not np.isfinite(valid).any():
        raise NasbenchError(f"table {rt.name!r}: no validation accuracy in schedule {report.name!r}")
    best = int(np.nanargmax(valid))
    extra = {} if report_table is None else {"report_table": {
        "name": rt.name, "path": str(rt.path), "content_hash": rt.content_hash, "dataset": rt.dataset}}
    return {**extra,
        "name": table.name, "path": str(table.path), "content_hash": table.content_hash,
        "dataset": table.dataset, "space": table.space.name, "n_archs": int(table.n_archs),
        "search_schedule": search.name, "search_epochs": int(search.epochs),
        "report_schedule": report.name, "report_epochs": int(report.epochs),
        "search_seeds": list(search.seeds), "report_seeds": list(report.seeds),
        "search_present_share": float(table.present(search.name).mean()),
        "protocol": report.protocol or search.protocol or {},
        "oracle": {"index": best, "arch": table.space.to_string(table.space.from_index(best)),
                   "valid": _num(valid[best]), "test": _num(test[best])},
        "best_test": _num(np.nanmax(test)) if np.isfinite(test).any() else None,
        "resolution": table_resolution(rt, report.name),
    }


def report_table_of(config: dict):
    """(open report table B, its schedule) from a results configuration, or (None, None);
    B must still hold the content the runs were made with."""
    info = config.get("report_table")
    if not info:
        return None, None
    from nasbench_lab.tables.table import Table

    path = info.get("path")
    if not path or not os.path.exists(path):
        raise NasbenchError(f"report table {info.get('name')!r} is no longer at {path}; put it back or rerun "
                            "the compare command")
    t = Table(path)
    if info.get("content_hash") and t.content_hash != info["content_hash"]:
        t.close()
        raise NasbenchError(f"report table {path} changed since the runs were made (content hash "
                            f"{t.content_hash[:12]} != {info['content_hash'][:12]})")
    return t, info.get("schedule")


def write_manifest(out_dir, manifest: dict) -> None:
    """DIR/compare.json: the command and settings of the latest compare into DIR."""
    _atomic_write_json(Path(out_dir) / COMPARE_JSON, _jsonable(manifest))


def load_manifest(store: ResultStore) -> dict:
    p = store.dir / COMPARE_JSON
    if p.is_file():
        try:
            m = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            raise NasbenchError(f"{p} is unreadable ({e}); rerun the compare command") from None
        results_check.check_manifest(m, p)
    else:
        m = {}
    cfg = store.config
    tables = m.get("tables") or [t for t in cfg.get("tables", {}) if t in store.tables()] \
        or list(cfg.get("tables", {}))
    strategies = m.get("strategies") or list(cfg.get("strategies", {}))
    facts = dict(m.get("table_facts") or {})
    rt, rsched = report_table_of(cfg) if any(n not in facts for n in tables) else (None, None)
    for name in tables:
        if name in facts:
            continue
        info = cfg.get("tables", {}).get(name, {})
        path = info.get("path")
        from nasbench_lab.tables.table import Table

        if not path or not os.path.exists(path):
            raise NasbenchError(f"{store.dir} has no {COMPARE_JSON} and table {name!r} is no longer at "
                                f"{path}; rerun the compare command to rewrite it")
        with Table(path) as t:
            if info.get("content_hash") and t.content_hash != info["content_hash"]:
                raise NasbenchError(f"table {path} changed since the runs were made (content hash "
                                    f"{t.content_hash[:12]} != {info['content_hash'][:12]})")
            facts[name] = table_facts(t, cfg.get("search_schedule"),
                                      rsched if rt is not None else cfg.get("report_schedule"), rt)
    if not m.get("runs"):
        counts = [store.count(t, s)
                  for t in tables for s in strategies]
        m["runs"] = max(counts) if counts else 0
    m.update(tables=tables, strategies=strategies, table_facts=facts)
    m.setdefault("command", None)
    m.setdefault("metric", "test")
    m.setdefault("test", "wilcoxon")
    m.setdefault("alpha", 0.05)
    return m
