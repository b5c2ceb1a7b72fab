"""Import NASLib's NAS-Bench-201 pickles (`nb201_cifar10_full_training.pickle` and siblings).

NASLib (automl/NASLib) ships NB201 as three plain pickles, one per dataset:
  nb201_cifar10_full_training.pickle, nb201_cifar100_full_training.pickle,
  nb201_ImageNet16_full_training.pickle
What its code (`naslib/search_spaces/nasbench201/graph.py`, `query`, and
`naslib/utils/get_dataset_api.py`) reads from them, and so what this importer reads:

  data[arch_str][dataset][key]
    arch_str   NB201's official string, `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`
    dataset    "cifar10-valid" (also in the cifar10 file), "cifar100", "ImageNet16-120"
    key        "train_acc1es", "train_losses", "eval_acc1es", "eval_losses": per-epoch
               lists (NASLib indexes them [epoch] and slices [:epoch] for learning curves)
               "cost_info": {"flops", "params", "latency", "train_time", ...}
               optionally "train_times", "eval_times": per-epoch lists

Confidence and assumptions (NASLib's code could not be re-read here; this is from memory):
- The nesting arch_str -> dataset -> key and the key names above are what NASLib's query
  uses (fairly confident). The files hold one curve per architecture; whether it is one
  seed or a seed mean is not documented, so the seed column is labelled "source".
- NASLib maps both its validation and its test metric to the same `eval_*` curves, so the
  file does not tell validation and test apart. They are stored as valid_* only;
  test_* stays NaN rather than duplicating the validation curve (a table that reported
  the validation curve as test accuracy would flatter every search).
- Accuracies are taken to be percent, as in NB201 (checked: a value <= 1.0 everywhere
  stops the import with an error rather than guessing).
- Per-epoch costs come only from per-epoch "train_times"/"eval_times" lists when present;
  cost_info["train_time"] has no documented unit/span, so it is not used. Without those
  lists the table has no costs (budgets in queries). flops/params (millions in NB201's
  cost info) are stored as counts (x 1e6), latency (seconds) as latency_ms (x 1000).
Architectures absent from a file are recorded as missing, never filled in.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.spaces import NB201, SpaceError
from nasbench_lab.tables.import_natsbench import _series, safe_load
from nasbench_lab.tables.writer import TableWriter

FILES = {"nb201_cifar10_full_training.pickle": "cifar10",
         "nb201_cifar100_full_training.pickle": "cifar100",
         "nb201_ImageNet16_full_training.pickle": "ImageNet16-120"}
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
OUT_SUFFIX = {"cifar10-valid": None, "cifar10": "cifar10", "cifar100": "cifar100",
              "ImageNet16-120": "imagenet16-120"}
SOURCE = "NAS-Bench-201 (Dong & Yang, ICLR 2020) as packaged by NASLib " \
         "(nb201_*_full_training.pickle)"
CURVES = {"train_acc": "train_acc1es", "train_loss": "train_losses",
          "valid_acc": "eval_acc1es", "valid_loss": "eval_losses"}


def _load(path: Path):
    try:
        return safe_load(path.read_bytes())
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a damaged file
        raise NasbenchError(f"NASLib import: {path.name} is not a readable pickle ({type(e).__name__}: "
                            f"{e}); download it again") from None


def _fail(path: Path, msg: str):
    raise NasbenchError(f"NASLib import: {path.name}: {msg}; is it NASLib's NB201 pickle? "
                        "download it again")


def import_naslib(directory: str | os.PathLike, out: str | os.PathLike, *, log=print,
                  progress: bool = True) -> list[Path]:
    """Convert the NASLib NB201 pickles found in `directory` into one table per dataset."""
    t0 = time.perf_counter()
    d = Path(directory)
    if not d.is_dir():
        raise NasbenchError(f"NASLib import: {d} is not a directory (expected one holding "
                            f"{', '.join(FILES)})")
    out = Path(out)
    if out.suffix != ".h5":
        raise NasbenchError(f"NASLib import: --out must end in .h5, got {out}")
    found = [d / f for f in FILES if (d / f).is_file()]
    if not found:
        raise NasbenchError(f"NASLib import: {d} holds none of {', '.join(FILES)}")
    from tqdm import tqdm

    n = NB201.size
    per_ds: dict[str, dict] = {}
    for path in found:
        data = _load(path)
        if not isinstance(data, dict) or not data:
            _fail(path, "expected a dict keyed by NB201 arch strings")
        for arch_str, entry in tqdm(data.items(), desc=path.name, unit="arch", disable=not progress,
                                    mininterval=0.5):
            try:
                idx = NB201.to_index(NB201.from_string(arch_str))
            except SpaceError as e:
                _fail(path, f"key {arch_str!r}: {e}")
            if not isinstance(entry, dict):
                _fail(path, f"entry of {arch_str} is not a dict keyed by dataset")
            for dataset, res in entry.items():
                if dataset not in DATASETS:
                    _fail(path, f"unknown dataset {dataset!r} under {arch_str}; known: {', '.join(DATASETS)}")
                if not isinstance(res, dict) or "eval_acc1es" not in res:
                    _fail(path, f"{arch_str} / {dataset} has no 'eval_acc1es'")
                curve = res["eval_acc1es"]
                try:
                    epochs = len(curve)
                except TypeError:
                    _fail(path, f"{arch_str} / {dataset}: eval_acc1es is not a per-epoch list")
                acc = per_ds.get(dataset)
                if acc is None:
                    acc = per_ds[dataset] = {"epochs": epochs, "file": path.name,
                                             "present": np.zeros(n, bool),
                                             "curves": {m: np.full((n, epochs), np.nan, np.float32)
                                                        for m in ("train_acc", "train_loss", "valid_acc",
                                                                  "valid_loss", "train_time", "valid_time")},
                                             "static": {m: np.full(n, np.nan)
                                                        for m in ("params", "flops", "latency_ms")}}
                elif epochs != acc["epochs"]:
                    _fail(path, f"{arch_str} / {dataset} has {epochs} epochs, others {acc['epochs']}")
                if acc["present"][idx]:
                    _fail(path, f"{arch_str} / {dataset} appears twice")
                for m, key in CURVES.items():
                    acc["curves"][m][idx] = _series(res.get(key), epochs)
                if res.get("train_times") is not None:
                    acc["curves"]["train_time"][idx] = np.cumsum(_series(res["train_times"], epochs))
                if res.get("eval_times") is not None:
                    acc["curves"]["valid_time"][idx] = _series(res["eval_times"], epochs)
                ci = res.get("cost_info") or {}
                for m, key, scale in (("params", "params", 1e6), ("flops", "flops", 1e6),
                                      ("latency_ms", "latency", 1e3)):
                    v = ci.get(key)
                    try:
                        v = float(v) * scale if v is not None else math.nan
                    except (TypeError, ValueError):
                        v = math.nan
                    acc["static"][m][idx] = v if v > 0 else math.nan
                acc["present"][idx] = True

    out.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for dataset in DATASETS:
        acc = per_ds.get(dataset)
        if acc is None:
            continue
        va = acc["curves"]["valid_acc"][acc["present"]]
        if np.isfinite(va).any() and np.nanmax(va) <= 1.0:
            raise NasbenchError(f"NASLib import: {acc['file']}: {dataset} accuracies are all <= 1; "
                                "expected percent as in NB201; this file is not in the known layout")
        has_times = bool(np.isfinite(acc["curves"]["train_time"]).any())
        metrics = ("train_acc", "train_loss", "valid_acc", "valid_loss") + \
            (("train_time", "valid_time") if has_times else ())
        E = acc["epochs"]
        suffix = OUT_SUFFIX[dataset]
        path = out if suffix is None else out.with_name(f"{out.stem}-{suffix}.h5")
        prov = {"source": SOURCE, "file": acc["file"],
                "seeds": "one curve per architecture as NASLib packaged it (seed or seed mean: "
                         "not documented), column 'source'",
                "test": "NASLib returns the same eval_* curve for validation and test; it is stored "
                        "as valid_* and test_* is left empty",
                "costs": "per-epoch times from the file" if has_times else
                         "the file has no per-epoch times: no costs, budget in queries"}
        present = acc["present"][:, None]
        with TableWriter(path, name=path.stem, space=NB201, dataset=dataset, provenance=prov) as w:
            w.add_schedule(str(E), epochs=E, recorded_epochs=range(1, E + 1), seeds=["source"],
                           metrics=metrics, protocol={"epochs": E, "source": "NASLib full_training"})
            for m in metrics:
                arr = acc["curves"][m][:, None, :]
                w.write(str(E), m, np.where(present[:, :, None], arr, np.nan))
            w.set_present(str(E), present)
            for m, v in acc["static"].items():
                w.set_static(m, v)
        paths.append(path)
        log(f"imported NASLib {dataset}: {int(acc['present'].sum())} archs, {E} epochs, seed 'source', "
            f"costs {'yes' if has_times else 'no'} -> {path} ({path.stat().st_size / 1e6:.1f} MB)")
    if not paths:
        raise NasbenchError(f"NASLib import: no NB201 results in {', '.join(p.name for p in found)}")
    log(f"converted {len(found)} NASLib file(s) into {len(paths)} tables in {time.perf_counter() - t0:.1f} s")
    return paths
