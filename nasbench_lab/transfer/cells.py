"""A table's final accuracy per distinct canonical cell (the default) or per cell, aligned across tables of one space.

Distinct cells: the space's canonical classes (cells that compute the same function share a
key, see spaces/nb201.py). A table built here stores one entry per class (its provenance
says "cells with the same canonical key share one entry"), so a class's value is that entry;
an imported NAS-Bench-201 table trained every cell separately, so a class's value is the mean
over its members that have a value. Either way each class counts once, and the 'zero'
class (cells whose output is constant) is one cell. A cell's value is the seed mean of the
metric at the last recorded epoch of the schedule.
"""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.spaces.finite import enumeration

SHARED_NOTE = "share one entry"


def default_schedule(table) -> str:
    """The longest schedule: final accuracy means the end of the longest training."""
    return max(table.schedules, key=lambda s: (table.schedules[s].epochs, s))


def shares_entries(table) -> bool:
    """True when the table stores one entry per canonical class (a build of this package)."""
    return SHARED_NOTE in str(table.provenance.get("note", "")) or "distinct_cells" in table.provenance


def cell_values(table, schedule: str, metric: str, cells: str = "distinct") -> np.ndarray:
    """Final seed-mean `metric` per class id ('distinct') or per cell index ('all'); NaN: no value."""
    sch = table.schedule(schedule)
    if metric not in sch.metrics:
        raise NasbenchError(f"table {table.name!r} has no {metric} in schedule {sch.name!r}")
    with np.errstate(invalid="ignore"):
        v = np.asarray(table.lookup(metric, np.arange(table.n_archs), sch.name), dtype=float)
    if cells == "all":
        return v
    canon = class_ids(table)
    ok = np.isfinite(v)
    n_cls = int(canon.max()) + 1
    total = np.bincount(canon[ok], weights=v[ok], minlength=n_cls)
    count = np.bincount(canon[ok], minlength=n_cls)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def class_ids(table) -> np.ndarray:
    en = enumeration(table.space)
    if en is None or en.size != table.n_archs:
        raise NasbenchError(f"space {table.space.name} of table {table.name!r} has no enumeration of "
                            "canonical classes; use --cells all")
    return en.canon


def cells_note(table, cells: str) -> str:
    """What one value of this table stands for, in words."""
    if cells == "all":
        return "every cell index counted (duplicates of one function counted as often as they occur)"
    if shares_entries(table):
        return "one entry per canonical class (the table stores it once)"
    return "a class's value is the mean over its member cells (each trained separately)"
