"""Every pair of tables over one space: the rank agreement of their final accuracies (what `transfer` prints)."""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.transfer.cells import cell_values, cells_note, default_schedule
from nasbench_lab.transfer.correlation import TOP_SHARE, agreement, spearman, top_share

METRICS = ("test_acc", "valid_acc")


def check_same_space(tables) -> None:
    """One-line error when two tables are not over one space (same name, same size)."""
    a = tables[0]
    for b in tables[1:]:
        if b.space.name != a.space.name or b.n_archs != a.n_archs:
            raise NasbenchError(f"tables {a.name!r} (space {a.space.name}, {a.n_archs} cells) and {b.name!r} "
                                f"(space {b.space.name}, {b.n_archs} cells) are over different spaces; "
                                "transfer compares tables of one space")


def table_entry(table, schedule: str, cells: str) -> dict:
    sch = table.schedule(schedule)
    return {"name": table.name, "path": str(table.path), "content_hash": table.content_hash,
            "dataset": table.dataset, "space": table.space.name, "schedule": sch.name,
            "epochs": int(sch.epochs), "metrics": [m for m in METRICS if m in sch.metrics],
            "cells": cells_note(table, cells)}


def values_of(tables, schedules, cells: str) -> dict:
    """{metric: [per-table array or None (metric absent)]}."""
    return {m: [cell_values(t, s, m, cells) if m in t.schedule(s).metrics else None
                for t, s in zip(tables, schedules)] for m in METRICS}


def transfer_summary(tables, schedules=None, *, cells: str = "distinct", n_resamples: int = 1000,
                     seed: int = 0, ks=(10, 50, "1%")) -> dict:
    """Agreement for every pair (i < j, top decile of the first) and both correlation matrices."""
    if len(tables) < 2:
        raise NasbenchError("transfer needs at least two tables")
    if cells not in ("distinct", "all"):
        raise NasbenchError(f"--cells must be 'distinct' or 'all', got {cells!r}")
    check_same_space(tables)
    schedules = [s if s is not None else default_schedule(t)
                 for t, s in zip(tables, schedules or [None] * len(tables))]
    vals = values_of(tables, schedules, cells)
    pairs = []
    for i in range(len(tables)):
        for j in range(i + 1, len(tables)):
            entry = {"a": tables[i].name, "b": tables[j].name, "metrics": {}}
            for m in METRICS:
                x, y = vals[m][i], vals[m][j]
                if x is None or y is None:
                    lacking = tables[i] if x is None else tables[j]
                    entry["metrics"][m] = {"skipped": f"{lacking.name!r} has no {m} in schedule "
                                                      f"{schedules[tables.index(lacking)]!r}"}
                    continue
                ok = np.isfinite(x) & np.isfinite(y)
                entry["metrics"][m] = {"n_missing": int((~ok).sum()), **agreement(
                    x[ok], y[ok], ks=ks, n_resamples=n_resamples, seed=seed)}
            pairs.append(entry)
    return {"cells": cells, "top_share": TOP_SHARE, "seed": seed,
            "tables": [table_entry(t, s, cells) for t, s in zip(tables, schedules)],
            "pairs": pairs, "matrix": {m: correlation_matrix(vals[m]) for m in METRICS}}


def correlation_matrix(arrays) -> dict:
    """Spearman overall (symmetric) and in the row table's top decile, measured on the column table."""
    n = len(arrays)
    overall = np.full((n, n), np.nan)
    top = np.full((n, n), np.nan)
    for i in range(n):
        for j in range(n):
            x, y = arrays[i], arrays[j]
            if x is None or y is None:
                continue
            ok = np.isfinite(x) & np.isfinite(y)
            x, y = x[ok], y[ok]
            overall[i, j] = spearman(x, y)
            sel = top_share(x)
            top[i, j] = spearman(x[sel], y[sel])
    return {"spearman": overall.tolist(), "spearman_top": top.tolist()}
