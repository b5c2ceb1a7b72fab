"""One dataset of the facade: a nasbench_lab table read with NATS-Bench's conventions.

NATS-Bench names the evaluation sets per dataset (api_utils.ArchResults.get_metrics):
cifar10-valid has 'x-valid' (the held-out half of the CIFAR-10 train images) and 'ori-test';
cifar10 (trained on all train images) has 'ori-test' only; cifar100 and ImageNet16-120 have
'x-valid' and 'x-test' (the two halves of the original test/validation set) and 'ori-test'
(their union). A table stores one validation and one test split per dataset; this module
maps the set names onto them. Epochs: NATS-Bench's `iepoch` is 0-based, a table's recorded
epochs are 1-based (iepoch i = epoch i + 1).
"""
from __future__ import annotations

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.tables.table import Table

#: NATS-Bench set name -> table split ("valid" / "test"), per dataset; None: not in any table
EVAL_SETS = {
    "cifar10-valid": {"x-valid": "valid", "ori-test": "test"},
    "cifar10": {"ori-test": "test"},
    "cifar100": {"x-valid": "valid", "x-test": "test", "ori-test": None},
    "ImageNet16-120": {"x-valid": "valid", "x-test": "test", "ori-test": None},
}
OTHER_SETS = {"x-valid": "valid", "x-test": "test"}  # datasets NATS-Bench does not have
NUM_CLASSES = {"cifar10-valid": 10, "cifar10": 10, "cifar100": 100, "ImageNet16-120": 120}
WHAT = {"train": "training-set", "valid": "validation", "test": "test"}


class CompatError(NasbenchError, ValueError):
    """A one-line error of the NATS-Bench facade (a ValueError, as NATS-Bench raises)."""


class Unavailable(NasbenchError, KeyError):
    """A NATS-Bench value that the table does not hold (the message says why)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Info(dict):
    """A dict with NATS-Bench's keys; a key the table cannot answer raises `Unavailable` with a
    one-line reason instead of a bare KeyError (`in` and `.get` behave as for a plain dict)."""

    def __init__(self, values=(), missing: dict | None = None):
        super().__init__(values)
        self.missing = dict(missing or {})

    def __missing__(self, key):
        if key in self.missing:
            raise Unavailable(f"{key!r} is not available: {self.missing[key]}")
        raise KeyError(key)


class DatasetData:
    """The table of one dataset, queried the way NATS-Bench's ArchResults are."""

    def __init__(self, table: Table):
        self.table = table
        self.dataset = table.dataset
        self.sets = EVAL_SETS.get(self.dataset, OTHER_SETS)
        self.static_names = set()
        for m in ("flops", "params", "latency_ms"):
            try:
                table.static(m)
                self.static_names.add(m)
            except NasbenchError:
                pass

    @property
    def hps(self) -> list[str]:
        return list(self.table.schedules)

    def schedule(self, hp):
        hp = str(hp)
        if hp not in self.table.schedules:
            raise CompatError(f"{self.dataset}: no results for hp={hp!r} in table {self.table.name!r}; it has "
                              f"hp = {', '.join(repr(h) for h in self.hps)}")
        return self.table.schedules[hp]

    def epoch_index(self, sch, iepoch) -> int:
        """iepoch (0-based, None = the last epoch) -> index on the table's epoch axis."""
        if iepoch is None:
            epoch = sch.epochs
        else:
            if isinstance(iepoch, (bool, np.bool_)) or not isinstance(iepoch, (int, np.integer)):
                raise CompatError(f"invalid iepoch={iepoch!r}: an integer in 0..{sch.epochs - 1} (or None for "
                                  f"the last epoch) expected, got {type(iepoch).__name__}")
            if not 0 <= int(iepoch) < sch.epochs:
                raise CompatError(f"invalid iepoch={iepoch}: hp={sch.name!r} has epochs 0..{sch.epochs - 1}")
            epoch = int(iepoch) + 1
        if epoch not in sch.recorded_epochs:
            rec = ", ".join(str(e - 1) for e in sch.recorded_epochs[:8])
            raise CompatError(f"{self.dataset}, hp={sch.name!r}: iepoch={epoch - 1} is not recorded in table "
                              f"{self.table.name!r}, which holds iepoch {rec} only (no per-epoch curves in "
                              "its source)")
        return sch.recorded_epochs.index(epoch)

    def column(self, sch, idx: int, is_random, rng: np.random.Generator) -> int | None:
        """NATS-Bench's is_random: True = one trial drawn at random, False = the mean over the
        trials (None here), an int = the trial of that seed."""
        present = np.flatnonzero(self.table.present(sch.name)[idx])
        if present.size == 0:
            raise CompatError(f"{self.dataset}, hp={sch.name!r}: architecture {idx} has no results in table "
                              f"{self.table.name!r}")
        if isinstance(is_random, bool) or is_random is None:
            if not is_random:
                return None
            return int(present[rng.integers(present.size)]) if present.size > 1 else int(present[0])
        label = str(is_random)
        if label not in sch.seeds:
            seeds = ", ".join(sch.seeds)
            hint = " (the seed mean of the source; per-seed results are not in it): use is_random=False " \
                   "or True" if sch.seeds == ("mean",) else ""
            raise CompatError(f"{self.dataset}, hp={sch.name!r}: no trial with seed {is_random} in table "
                              f"{self.table.name!r}; its trials: {seeds}{hint}")
        col = sch.seeds.index(label)
        if col not in present:
            raise CompatError(f"{self.dataset}, hp={sch.name!r}: seed {label} of architecture {idx} is missing in "
                              f"table {self.table.name!r}")
        return col

    def seeds(self, sch, idx: int) -> list:
        present = self.table.present(sch.name)[idx]
        return [int(s) if s.isdigit() else s for s, p in zip(sch.seeds, present) if p]

    # --- values --------------------------------------------------------------------------
    def value(self, sch, metric: str, idx: int, col, ei: int) -> float:
        return self.table.value(sch.name, metric, idx, col, ei)

    def why_missing(self, sch, metric: str, ei: int) -> str:
        epoch = sch.recorded_epochs[ei]
        if metric not in sch.metrics:
            return (f"table {self.table.name!r} ({self.dataset}, hp={sch.name!r}) has no {metric}; it records "
                    f"{', '.join(sch.metrics)} (its source does not have the rest)")
        return (f"table {self.table.name!r} ({self.dataset}, hp={sch.name!r}) has no {metric} at iepoch "
                f"{epoch - 1} (not recorded in its source)")

    def _per_epoch_sum(self, sch, metric: str, idx: int, col, ei: int) -> float:
        """Seconds summed over epochs 1..e of a per-epoch time (one pass per epoch, as NATS-Bench
        sums eval_times): the recorded values when every epoch is recorded, else e x the pass
        time at e (the NAS-Bench-201 exports record one epoch; their times are per-epoch constants)."""
        epoch = sch.recorded_epochs[ei]
        if tuple(sch.recorded_epochs[:ei + 1]) == tuple(range(1, epoch + 1)):
            vals = [self.value(sch, metric, idx, col, j) for j in range(ei + 1)]
            if all(v == v for v in vals):
                return float(sum(vals))
        return epoch * self.value(sch, metric, idx, col, ei)

    def set_metrics(self, sch, split: str, idx: int, col, ei: int) -> tuple[dict, dict]:
        """NATS-Bench's get_train / get_eval dict for one split ('train', 'valid', 'test'):
        ({iepoch, loss, accuracy, cur_time, all_time}, {field: why it is missing})."""
        epoch = sch.recorded_epochs[ei]
        out = {"iepoch": epoch - 1}
        missing = {}
        for field, metric in (("loss", f"{split}_loss"), ("accuracy", f"{split}_acc")):
            v = self.value(sch, metric, idx, col, ei)
            if v == v:
                out[field] = v
            else:
                missing[field] = self.why_missing(sch, metric, ei)
        tm = f"{split}_time"
        if split == "train":
            all_time = self.value(sch, tm, idx, col, ei)  # cumulative in a table
            prev = sch.recorded_epochs[ei - 1] if ei > 0 else 0
            if ei > 0 and prev == epoch - 1:
                cur = all_time - self.value(sch, tm, idx, col, ei - 1)
            elif ei == 0 and epoch == 1:
                cur = all_time
            else:
                cur = all_time / epoch
        else:
            cur = self.value(sch, tm, idx, col, ei)
            all_time = self._per_epoch_sum(sch, tm, idx, col, ei) if cur == cur else float("nan")
        if all_time == all_time:
            out["cur_time"], out["all_time"] = cur, all_time
        else:
            missing["cur_time"] = missing["all_time"] = self.why_missing(sch, tm, ei)
        return out, missing

    def eval_split(self, setname: str) -> str:
        name = "x-valid" if setname == "valid" else setname
        if name == "train":
            return "train"
        if name not in self.sets:
            raise CompatError(f"{self.dataset} has no evaluation set {setname!r} in NATS-Bench's naming; it has "
                              f"train, {', '.join(self.sets)}")
        split = self.sets[name]
        if split is None:
            raise CompatError(f"{self.dataset}: {name!r} (the union of x-valid and x-test) is not in table "
                              f"{self.table.name!r}; use 'x-valid' or 'x-test'")
        return split

    # --- costs -----------------------------------------------------------------------------
    def compute_costs(self, sch, idx: int) -> dict:
        """NATS-Bench's get_compute_costs: flops (M), params (M), latency (s), T-* times."""
        have = self.static_names
        if not {"flops", "params"} <= set(have):
            raise CompatError(f"{self.dataset}: table {self.table.name!r} has no FLOPs/params/latency (its source "
                              "does not record them); NATS-Bench's release has them: convert it with "
                              "`nasbench-lab import natsbench DIR --out FILE.h5`")
        info = {"flops": float(self.table.static("flops")[idx]) / 1e6,
                "params": float(self.table.static("params")[idx]) / 1e6}
        lat = float(self.table.static("latency_ms")[idx]) / 1e3 if "latency_ms" in have else float("nan")
        info["latency"] = lat if lat == lat and lat > 0 else None
        ei = len(sch.recorded_epochs) - 1
        for key, metric in (("train", "train_time"), *((n, f"{s}_time") for n, s in self.sets.items() if s)):
            if metric not in sch.metrics:
                continue
            if key == "train":
                total = self.table.value(sch.name, metric, idx, None, ei)
            else:
                total = self._per_epoch_sum(sch, metric, idx, None, ei)
            if total == total:
                info[f"T-{key}@epoch"] = total / sch.recorded_epochs[ei]
                info[f"T-{key}@total"] = total
        return info

    def latency(self, idx: int) -> float | None:
        if "latency_ms" not in self.static_names:
            return None
        v = float(self.table.static("latency_ms")[idx]) / 1e3
        return v if v == v and v > 0 else None
