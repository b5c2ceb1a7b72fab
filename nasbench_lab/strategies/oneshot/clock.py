"""The one-shot search cost on a table's time scale: this machine's CPU seconds times its speed against the table.

A one-shot search is timed live, on the machine that runs it, while a table's costs are the
CPU seconds of the machine(s) that built it, on one reference machine's scale where several
did (tables/calibration.py). To share one clock (design.md: one-shot cost "in the same
units as a table's train_time"), the measured search seconds are multiplied by a factor,
table seconds per CPU second here:

- the table's calibration fit of this machine (its median factor; 1 for the reference), when
  the table lists this exact machine (CPU model, BLAS kernel, numpy: `machine_description`);
- 1, when the table records that every entry was trained on this machine;
- else measured: the first epoch of three reference cells (the present cells at the 25th,
  50th and 75th percentile of FLOPs) trained here under the table's protocol and seeds, as a
  build trains them (`train_seeds`); the factor is the median over the cells of the table's
  seed-mean first-epoch train_time over the measured one. It assumes that a supernet epoch
  speeds up like a cell's training across machines (both are the same numpy layers); about
  2-6 CPU seconds once per process.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from nasbench_lab import NasbenchError

REFERENCE_QUANTILES = (0.25, 0.5, 0.75)
MAX_FACTOR = 20.0  # a measured factor outside 1/20..20 means a broken measurement, not a machine


@dataclass(frozen=True)
class TimeFactor:
    """Table seconds per CPU second of this machine, and how that was established."""

    factor: float
    basis: str

    def to_dict(self) -> dict:
        return {"factor": float(self.factor), "basis": self.basis}

    @classmethod
    def from_dict(cls, d: dict | None) -> "TimeFactor":
        if not d:
            return UNSCALED
        return cls(float(d["factor"]), str(d["basis"]))


UNSCALED = TimeFactor(1.0, "not scaled (measured CPU seconds, recorded before the time factor existed)")


def time_factor(table, protocol, machine: str | None = None) -> TimeFactor:
    """The factor for a search run on `machine` (default: this one) against `table`."""
    from nasbench_lab.tables.build import machine_description

    machine = machine or machine_description()
    sch = table.schedule(None)
    cal = table.time_calibration(sch.name)
    if cal is not None:
        fit = cal["machines"].get(machine)
        if fit is not None and "median_factor" in fit:
            which = "the table's time reference" if machine == cal["reference"] else \
                f"calibrated to {cal['reference']}"
            return TimeFactor(float(fit["median_factor"]),
                              f"the table's calibration fit of this machine ({machine}; {which}; "
                              f"{fit['trainings']} trainings): median factor")
    codes, machines = table.built_on(sch.name)
    present = table.present(sch.name)
    if cal is None and machines == [machine] and np.all(codes[present] == 0):
        return TimeFactor(1.0, f"every entry of the table was trained on this machine ({machine})")
    return _measured(table, protocol, machine)


@functools.lru_cache(maxsize=4)
def _measured_cached(path: str, content_hash: str, machine: str, protocol_items: tuple) -> TimeFactor:
    from nasbench_lab.live.protocol import Protocol
    from nasbench_lab.live.trainer import train_seeds
    from nasbench_lab.tables.table import Table

    protocol = Protocol.from_dict(dict(protocol_items))
    with Table(path) as table:
        sch = table.schedule(None)
        full = np.flatnonzero(table.present(sch.name).all(axis=1))
        if full.size == 0:
            raise NasbenchError(f"table {table.name!r} has no cell trained with every seed, so this "
                                "machine's speed against it cannot be measured; finish its build")
        flops = table.static("flops")[full]
        order = full[np.argsort(flops, kind="stable")]
        cells = sorted({int(order[round(q * (order.size - 1))]) for q in REFERENCE_QUANTILES})
        seeds = [int(s) for s in sch.seeds]
        tt = table.array(sch.name, "train_time")[:, :, 0]
        ratios = []
        one_epoch = protocol.replace(epochs=1)
        for i in cells:
            rs = train_seeds(table.space.from_index(i), one_epoch, seeds)
            here = float(np.mean([r.train_time[0] for r in rs]))
            there = float(np.mean(tt[i]))
            if not (here > 0 and np.isfinite(there) and there > 0):
                raise NasbenchError(f"measuring this machine's speed against {table.name!r} failed "
                                    f"(cell {i}: {here:g} s here, {there:g} s in the table)")
            ratios.append(there / here)
    factor = float(np.median(ratios))
    if not 1 / MAX_FACTOR <= factor <= MAX_FACTOR:
        raise NasbenchError(f"this machine's measured speed against {table.name!r} is off by a factor "
                            f"{factor:.3g} (ratios {', '.join(f'{r:.3g}' for r in ratios)}): the machine was "
                            "too busy to time, or the table's times are broken; rerun on a quieter machine")
    return TimeFactor(factor, f"measured on this machine ({machine}): first epoch of cells "
                              f"{', '.join(map(str, cells))} (FLOPs quartiles), seeds {seeds}; median of "
                              f"table/measured ratios {', '.join(f'{r:.3f}' for r in ratios)}")


def _measured(table, protocol, machine: str) -> TimeFactor:
    return _measured_cached(str(table.path), table.content_hash, machine,
                            tuple(sorted(protocol.to_dict().items())))
