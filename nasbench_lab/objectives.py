"""What a run optimises: validation accuracy alone, or a vector with static cost metrics, and a params cap.

- `--objectives valid_acc,params[,flops,latency_ms]`: validation accuracy is maximised, every
  other objective (a static metric of the table: known per cell, free to read) minimised.
  The strategy is told each observation with `objectives` = the measured values in that
  order (accuracy still observed on validation only); single-objective strategies ignore it.
- `--max-params N`: only cells with params <= N count. An infeasible query is still made and
  charged (the cell was trained: its cost is on the clock), but the incumbent ignores it, and
  the strategy is told it with `feasible=False` and `valid_acc` NaN (the death penalty: a
  strategy that knows nothing of constraints treats it as a failed training); its
  `objectives` keep the measured values. Before the first feasible query there is no
  incumbent (index -1, NaN accuracies).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.tables.schema import STATIC_METRICS

ACCURACY = "valid_acc"
OBJECTIVE_METRICS = (ACCURACY,) + tuple(STATIC_METRICS)
_INF = float("inf")


@dataclass(frozen=True)
class Objectives:
    """The objective names (validation accuracy first, then cost metrics) and the params cap."""

    names: tuple[str, ...] = (ACCURACY,)
    max_params: float | None = None

    def __post_init__(self):
        names = tuple(self.names)
        object.__setattr__(self, "names", names)
        valid = ", ".join(OBJECTIVE_METRICS)
        for n in names:
            if n not in OBJECTIVE_METRICS:
                raise NasbenchError(f"--objectives: unknown metric {n!r}; valid: {valid}")
        if not names or names[0] != ACCURACY:
            raise NasbenchError(f"--objectives must start with {ACCURACY} (maximised), then cost metrics "
                                f"(minimised), e.g. {ACCURACY},params; got {','.join(names) or '(empty)'}")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise NasbenchError(f"--objectives names {dup[0]} twice")
        m = self.max_params
        if m is not None:
            if isinstance(m, bool) or not isinstance(m, (int, float)) or not (math.isfinite(m) and m > 0):
                raise NasbenchError(f"--max-params must be a positive number, got {m}")
            object.__setattr__(self, "max_params", float(m))

    @property
    def is_vector(self) -> bool:
        return len(self.names) > 1

    @property
    def is_default(self) -> bool:
        return not self.is_vector and self.max_params is None

    @property
    def costs(self) -> tuple[str, ...]:
        return self.names[1:]

    def config(self) -> dict:
        """Keys for the experiment configuration and run metadata; empty for plain accuracy, so
        results made before this option existed keep their configuration."""
        if self.is_default:
            return {}
        return {"objectives": list(self.names), "max_params": self.max_params}

    def add_to(self, config: dict) -> dict:
        """An experiment configuration with these objectives in it (unchanged for plain accuracy)."""
        return {**config, **self.config()}

    @classmethod
    def from_config(cls, cfg: dict) -> "Objectives":
        return cls(tuple(cfg.get("objectives") or (ACCURACY,)), cfg.get("max_params"))

    def check_table(self, table) -> None:
        """One line when the table lacks a metric, or when no cell meets the params cap."""
        have = [m for m in STATIC_METRICS if m in table.describe()["static"]]
        need = list(self.costs) + (["params"] if self.max_params is not None and "params" not in self.costs else [])
        for m in need:
            if m not in have:
                what = "--max-params" if m not in self.costs else "--objectives"
                raise NasbenchError(f"{what}: table {table.name!r} has no static metric {m!r} (it has: "
                                    f"{', '.join(have) or 'none'}); use a table that has it, e.g. the built-in "
                                    "nb201-mnist1d")
        if self.max_params is not None:
            p = np.asarray(table.static("params"), dtype=float)
            if not (p <= self.max_params).any():
                raise NasbenchError(f"--max-params {self.max_params:g}: no cell of table {table.name!r} has that "
                                    f"few parameters (the smallest has {np.nanmin(p):g}); give a larger cap")

    def static_matrix(self, table) -> np.ndarray:
        """(n_archs, number of cost objectives) float array of the table's cost metrics."""
        if not self.costs:
            return np.zeros((table.n_archs, 0))
        return np.stack([np.asarray(table.static(m), dtype=float) for m in self.costs], axis=1)

    def driver(self, strat, table) -> "ObjectiveDriver":
        """`strat` wrapped so that it is told vector (and feasibility) observations on `table`."""
        return ObjectiveDriver(strat, table.space, self.static_matrix(table), self.feasible_mask(table))

    def feasible_mask(self, table) -> np.ndarray | None:
        if self.max_params is None:
            return None
        return np.asarray(table.static("params"), dtype=float) <= self.max_params


DEFAULT = Objectives()


def parse_objectives(text: str | None, max_params: float | None = None) -> Objectives:
    """`--objectives a,b,...` and `--max-params N` as an Objectives (one-line errors)."""
    if text is None:
        return Objectives(max_params=max_params)
    items = [x.strip() for x in text.split(",")]
    if any(not x for x in items):
        raise NasbenchError(f"--objectives must be a comma-separated list without empty items, got {text!r}")
    return Objectives(tuple(items), max_params)


def observed_losses(obs) -> tuple[float, ...]:
    """An observation as a vector to minimise: -valid_acc, then the cost metrics (the objectives
    of the run, or just accuracy in a single-objective run); +inf everywhere for a failed
    (NaN) or infeasible observation, so it is dominated by every real one."""
    vals = obs.objectives or (obs.valid_acc,)
    acc = vals[0]
    if acc != acc or not getattr(obs, "feasible", True):
        return (_INF,) * len(vals)
    return (-float(acc),) + tuple(float(v) for v in vals[1:])


class ObjectiveDriver:
    """Wraps a strategy for `runner.run_loop`: tells it each observation with `objectives` and
    `feasible` filled in from the table's static metrics (the asks pass through unchanged)."""

    def __init__(self, strat, space, static: np.ndarray, feasible: np.ndarray | None):
        self.strat, self.space, self.static, self.feasible = strat, space, static, feasible

    def ask(self):
        return self.strat.ask()

    def tell(self, ask, obs) -> None:
        if not hasattr(obs, "valid_acc"):  # a zero-cost proxy's answer (strategies/proxy_asks.py): as is
            self.strat.tell(ask, obs)
            return
        idx = self.space.to_index(obs.arch)
        vals = (obs.valid_acc, *self.static[idx].tolist())
        ok = True if self.feasible is None else bool(self.feasible[idx])
        obs = dataclasses.replace(obs, objectives=vals, feasible=ok,
                                  valid_acc=obs.valid_acc if ok else float("nan"))
        self.strat.tell(ask, obs)


def apply_constraint(record, feasible: np.ndarray, report_valid: np.ndarray, report_test: np.ndarray) -> None:
    """Recompute the incumbent columns of `record` over feasible queries only: the best observed
    validation accuracy among them (ties: the earlier; a NaN one only until a real one), -1 and
    NaN before the first feasible query."""
    inc = np.full(record.n_queries, -1, dtype=np.int64)
    best_s, best_i = -_INF, -1
    for k, (a, v) in enumerate(zip(record.arch.tolist(), record.valid.tolist())):
        if feasible[a]:
            s = -_INF if v != v else v
            if s > best_s or best_i < 0:
                best_s, best_i = s, a
        inc[k] = best_i
    have = inc >= 0
    record.incumbent = inc
    record.incumbent_valid = np.where(have, np.asarray(report_valid, dtype=float)[np.maximum(inc, 0)], np.nan)
    record.incumbent_test = np.where(have, np.asarray(report_test, dtype=float)[np.maximum(inc, 0)], np.nan)


def constrained_oracle(table, report_schedule: str, max_params: float) -> dict:
    """The best report-schedule validation accuracy among cells with params <= max_params."""
    idx = np.arange(table.n_archs)
    valid = np.asarray(table.lookup("valid_acc", idx, report_schedule), dtype=float)
    sch = table.schedule(report_schedule)
    test = (np.asarray(table.lookup("test_acc", idx, report_schedule), dtype=float)
            if "test_acc" in sch.metrics else np.full(table.n_archs, np.nan))
    valid = np.where(np.asarray(table.static("params"), dtype=float) <= max_params, valid, np.nan)
    if not np.isfinite(valid).any():
        raise NasbenchError(f"table {table.name!r}: no cell with params <= {max_params:g} has a validation "
                            f"accuracy in schedule {report_schedule!r}; give a larger --max-params")
    best = int(np.nanargmax(valid))
    num = (lambda x: None if not np.isfinite(x) else float(x))
    return {"index": best, "arch": table.space.to_string(table.space.from_index(best)),
            "valid": num(valid[best]), "test": num(test[best]), "max_params": float(max_params)}
