"""`run`/`compare --report-table B`: search on table A, report the incumbent's accuracy on table B of the same space.

The strategy sees only A (its validation metrics and costs, as without a report table); the
incumbent is still the best validation accuracy observed on A. Its reported validation and
test accuracy (and with them regret and the oracle) are B's: the seed mean at the last
epoch of B's report schedule (design.md section 3, with B in place of A). B's report
schedule is `--report-schedule E` when given, else B's schedule named like A's search
schedule, else B's only schedule. Refused with one line: B over another space, B's report
schedule without validation or test accuracy, and (at the end of a run) an incumbent that B
has no entry for.
"""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.tables.table import Table, open_table


def report_schedule_name(b: Table, search_name: str, report_schedule) -> str:
    """B's schedule the incumbent is reported on (see the module docstring)."""
    if report_schedule is not None:
        return b.schedule(report_schedule).name
    if search_name in b.schedules:
        return search_name
    if len(b.schedules) == 1:
        return next(iter(b.schedules))
    raise NasbenchError(f"report table {b.name!r} has no schedule {search_name!r} (the search schedule) and "
                        f"several others ({', '.join(b.schedules)}); give --report-schedule, one of them")


def check_report_table(a: Table, b: Table, search_schedule, report_schedule) -> str:
    """One-line errors for a report table that cannot report a search on `a`; returns B's schedule."""
    if b.space.name != a.space.name or b.n_archs != a.n_archs:
        raise NasbenchError(f"--report-table {b.name!r} is over space {b.space.name} ({b.n_archs} cells), but "
                            f"table {a.name!r} is over {a.space.name} ({a.n_archs} cells); a report table must "
                            "be of the search table's space")
    name = report_schedule_name(b, a.schedule(search_schedule).name, report_schedule)
    lacking = [m for m in ("valid_acc", "test_acc") if m not in b.schedule(name).metrics]
    if lacking:
        raise NasbenchError(f"--report-table {b.name!r} has no {' or '.join(lacking)} in schedule {name!r}, which "
                            f"the report of the incumbent needs (it has: {', '.join(b.schedule(name).metrics)}); "
                            "give another --report-schedule or report table")
    return name


def open_report_table(name: str, tables: list[Table], search_schedule, report_schedule) -> tuple[Table, str]:
    """Open B and check it against every search table; (B, B's report schedule)."""
    b = open_table(name)
    try:
        names = {check_report_table(a, b, search_schedule, report_schedule) for a in tables}
    except NasbenchError:
        b.close()
        raise
    if len(names) != 1:
        b.close()
        raise NasbenchError(f"the search tables map to different schedules of --report-table {b.name!r} "
                            f"({', '.join(sorted(names))}); give --report-schedule")
    return b, names.pop()


def config_entry(b: Table | None, schedule: str | None) -> dict:
    """What results/config.json records of B (a resumed compare with another B is refused)."""
    return {} if b is None else {"report_table": {"name": b.name, "path": b.path, "content_hash": b.content_hash,
                                                  "schedule": schedule}}


def finish_record(record, view) -> None:
    """Name B in the run's meta; refuse a run whose incumbent B has no entry for."""
    b = view.report_table
    record.meta["report_table"] = b.name
    record.meta["report_table_hash"] = b.content_hash
    inc = np.unique(np.asarray(record.incumbent, dtype=np.int64))
    if not inc.size:
        return
    missing = inc[~b.present(view.report.name)[inc].any(axis=1)]
    if missing.size:
        i = int(missing[0])
        raise NasbenchError(
            f"report table {b.name!r} has no entry in schedule {view.report.name!r} for cell {i} "
            f"({b.space.to_string(b.space.from_index(i))}), an incumbent of run {record.meta['run']} of "
            f"{record.meta['strategy']} on {view.table.name!r}"
            + (f" ({missing.size} such cells)" if missing.size > 1 else "")
            + "; report on a complete table (is its build finished?)")
