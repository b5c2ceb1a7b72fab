"""Import NASLib's NAS-Bench-201 pickles (`nb201_cifar10_full_training.pickle` and siblings).

NASLib (automl/NASLib) ships NB201 as three plain (uncompressed) pickles, one per dataset,
loaded with `pickle.load` by `get_nasbench201_api`:
  nb201_cifar10_full_training.pickle, nb201_cifar100_full_training.pickle,
  nb201_ImageNet16_full_training.pickle
What NASLib's query reads from them, and so what this importer reads:

  data[arch_str][dataset][key]
    arch_str   NB201's official string, `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`
    dataset    "cifar10-valid" in the cifar10 file (NASLib answers both "cifar10" and
               "cifar10-valid" from it), "cifar100", "ImageNet16-120"
    key        "train_acc1es", "train_losses", "eval_acc1es", "eval_losses": per-epoch
               lists (NASLib indexes them [epoch], default [-1], and slices [:epoch] for
               learning curves; its NB201 space has max_epoch 199, i.e. 200 entries)
               "cost_info": {"flops", "params", "latency", "train_time"}
               optionally "eval_times" (NASLib's VAL_TIME/TEST_TIME query indexes it per
               epoch) and "train_times" (read here if present; NASLib's query never
               reaches that key: TRAIN_TIME answers cost_info["train_time"])

Validation and test: NASLib maps both its validation and its test metric to the same
`eval_*` curves, so the file does not tell validation and test apart. They are stored as
valid_* only; test_* stays NaN rather than duplicating the validation curve (a table that
reported the validation curve as test accuracy would flatter every search).
Costs: cost_info["train_time"] is NB201's per-epoch training time in seconds (the
"train-per-time" of NB201's get_more_info, see Confidence), so without per-epoch
"train_times" lists train_time is that value x epoch (cumulative; an estimate, constant
per epoch). valid_time comes only from per-epoch "eval_times" lists; without them the
table has train_time but no evaluation time, so it reports no query costs (budgets in
queries). Static: flops/params (millions, as in NB201's cost info) are stored as counts
(x 1e6), latency (seconds) as latency_ms (x 1000).
Architectures absent from a file are recorded as missing, never filled in.

Confidence (checked against stored public copies of the official code):
- automl/NASLib naslib/utils/get_dataset_api.py: the three file names, one file per
  dataset ("cifar10", "cifar100", "ImageNet16-120"), plain pickle.load.
- automl/NASLib naslib/search_spaces/nasbench201/graph.py `query`: the nesting
  arch_str -> dataset -> key, "cifar10" -> "cifar10-valid", the metric-to-key map
  (VAL and TEST both -> eval_acc1es / eval_losses / eval_times; TRAIN_TIME ->
  cost_info["train_time"]; HP -> cost_info), [epoch] and [:epoch] indexing, max_epoch 199;
  naslib/search_spaces/nasbench201/conversions.py `convert_naslib_to_str`: the keys are
  NB201 arch strings; naslib/predictors/lcsvr.py reads cost_info "flops", "latency",
  "params".
- automl/NASLib tests/test_nb201_search_space.py: its stand-in entry for NB201 arch 0
  ("cifar10-valid": the four per-epoch lists and cost_info {"flops": 15.64737, "params":
  0.129306, "latency": 0.01393..., "train_time": 7.221092998981476}). That train_time
  equals NB201's published train-per-time of arch 0 on cifar10-valid, 200 epochs
  (7.221092999 s in ../shared/nb201/nb201_cifar10valid_200ep.csv), which fixes its meaning;
  the magnitudes of flops/params/latency agree with NB201's units (millions, seconds).
Not verified (no copy of the real pickles here): whether the real files hold "eval_times"
or "train_times" lists (the NASLib stand-in has neither); which NB201 evaluation set
`eval_*` is (x-valid, x-test or ori-test) and whether the curves are one seed or a seed
mean (the seed column is labelled "source"); the list lengths (200 expected from
max_epoch; the number of epochs is the length of eval_acc1es, which must be the same for
every architecture of a dataset or the import stops; a shorter other list leaves its last
epochs NaN, a longer one is cut).
Accuracies are taken to be percent, as in NB201 and in the NASLib stand-in (a value
<= 1.0 everywhere stops the import with an error rather than guessing).
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


def _positive(v) -> bool:
    try:
        return math.isfinite(float(v)) and float(v) > 0
    except (TypeError, ValueError):
        return False


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
                                                        for m in ("params", "flops", "latency_ms")},
                                             "time_from": set()}
                elif epochs != acc["epochs"]:
                    _fail(path, f"{arch_str} / {dataset} has {epochs} epochs, others {acc['epochs']}")
                if acc["present"][idx]:
                    _fail(path, f"{arch_str} / {dataset} appears twice")
                for m, key in CURVES.items():
                    acc["curves"][m][idx] = _series(res.get(key), epochs)
                ci = res.get("cost_info") or {}
                if res.get("train_times") is not None:
                    acc["curves"]["train_time"][idx] = np.cumsum(_series(res["train_times"], epochs))
                    acc["time_from"].add("train_times")
                elif _positive(ci.get("train_time")):
                    acc["curves"]["train_time"][idx] = float(ci["train_time"]) * np.arange(1, epochs + 1)
                    acc["time_from"].add("cost_info")
                if res.get("eval_times") is not None:
                    acc["curves"]["valid_time"][idx] = _series(res["eval_times"], epochs)
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
        has_train = bool(np.isfinite(acc["curves"]["train_time"]).any())
        has_eval = bool(np.isfinite(acc["curves"]["valid_time"]).any())
        has_times = has_train and has_eval
        metrics = ("train_acc", "train_loss", "valid_acc", "valid_loss") + \
            (("train_time",) if has_train else ()) + (("valid_time",) if has_eval else ())
        train_src = {"train_times": "the per-epoch train_times lists (cumulated)",
                     "cost_info": "cost_info train_time (NB201's seconds per epoch) x epoch, an "
                                  "estimate constant per epoch"}
        train_note = " and ".join(train_src[k] for k in sorted(acc["time_from"])) or "nothing"
        E = acc["epochs"]
        suffix = OUT_SUFFIX[dataset]
        path = out if suffix is None else out.with_name(f"{out.stem}-{suffix}.h5")
        prov = {"source": SOURCE, "file": acc["file"],
                "seeds": "one curve per architecture as NASLib packaged it (seed or seed mean: "
                         "not documented), column 'source'",
                "test": "NASLib returns the same eval_* curve for validation and test; it is stored "
                        "as valid_* and test_* is left empty",
                "costs": f"train_time from {train_note}; valid_time from "
                         + ("the per-epoch eval_times lists" if has_eval else
                            "nothing (the file has no eval_times): no query costs, budget in "
                            "queries")}
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
