"""Import NATS-Bench's topology space (= NAS-Bench-201's cells) from the official release.

Input: the `NATS-tss-v1_0-3ffb9-simple` directory of the official NATS-Bench release
(Dong et al., TPAMI 2021; untar `NATS-tss-v1_0-3ffb9-simple.tar`), read directly from its
file format; the `nats_bench` package is not needed (and not used). Layout, as the official
reader (`nats_bench` fast mode) loads it and the release script wrote it:

  meta.pickle.pbz2        bz2-compressed pickle of {"meta_archs": the 15,625 arch strings in
                          the official index order, "total_archs": 15625, "arch2infos": None,
                          "evaluated_indexes": empty set}; only `meta_archs` is read
  {index:06d}.pickle.pbz2 one per architecture (`{index}.pickle.pbz2` is accepted too, as the
                          reader does): an OrderedDict {hp: ArchResults state dict} with the
                          string keys "12" and "200" (the two training schedules)
  ArchResults state       {"arch_index", "arch_str", "all_results": {(dataset, seed):
                           ResultsCount state}, "dataset_seed": {dataset: sorted [seeds]},
                           "clear_net_done"}; seeds are ints
  ResultsCount state      {"name" (the dataset), "net_state_dict" (None in -simple),
                           "train_acc1es", "train_acc5es", "train_losses", "train_times":
                           {epoch: value}, "arch_config" {"channel", "num_cells", "arch_str",
                           "class_num"}, "params" (millions), "flop" (millions), "seed" (a
                           string, unused), "epochs", "latency" (list of seconds or None),
                           "eval_names", "eval_acc1es", "eval_losses", "eval_times":
                           {"<eval name>@<epoch>": value}}
                          epochs are 0-based on the source side; accuracies in percent

Which evaluation is which (as `get_more_info` of the official API assigns them):
  cifar10-valid   valid = "x-valid" (the other 25k CIFAR-10 train images), test = "ori-test"
  cifar10         trained on all 50k train images, no validation split: valid metrics NaN,
                  test = "ori-test"; kept as its own table, never mixed with cifar10-valid
  cifar100, ImageNet16-120
                  valid = "x-valid", test = "x-test" (the two halves of the original test
                  set). "ori-test" (their union, `valtest` in get_more_info) is stored in the
                  release but not imported.
Sparse 200-epoch evaluations: the "200" schedule was converted from NAS-Bench-201's
checkpoints, which evaluated only some sets per epoch: cifar10-valid has "ori-test" only at
the last epoch, cifar100 and ImageNet16-120 have "x-valid"/"x-test" only at the last epoch
(every epoch has "ori-test" there). The other epochs are absent in the source and NaN here.
Times: the release's train_times and eval_times are estimates, constant per epoch, not
measurements: one per-epoch training time per architecture (from its 12-epoch cifar10-valid
run, seed 777) scaled by the dataset's training-set size, and one evaluation time per sample
scaled by each evaluation set's size, the same for every seed and both schedules. Latency
is NAS-Bench-201's measured latency (seconds), the same for all seeds and schedules.

Output: one table per dataset, each with schedules "12" and "200" (as found), every
epoch recorded, every seed of the source as its own column; an (arch, seed) the source
lacks is recorded as missing (present False, NaN), never filled in. OUT holds
cifar10-valid; the other datasets go next to it as OUT-stem + "-cifar10.h5",
"-cifar100.h5", "-imagenet16-120.h5". train_time is cumulative (the sum of the per-epoch
train_times up to the epoch, as the API's "train-all-time"); valid_time and test_time are
one evaluation pass at that epoch. Static metrics follow `get_cost_info(hp="12")` (the
"200" schedule where "12" is absent): params and flops are the mean over the dataset's
seeds, except that when the seeds disagree (to 5 decimals) the value of seed 888 is taken,
as the API's legacy fix does; stored as counts (source millions x 1e6). latency_ms is the
mean over the seeds whose mean latency is positive, x 1000.

Confidence (checked line by line against the official code, read as stored public copies):
- D-X-Y/NATS-Bench nats_bench/api_utils.py (`pickle_load`, `PICKLE_EXT`, `reload`,
  `ArchResults` and `ResultsCount` with their state dicts, `get_compute_costs`,
  `get_latency`, `get_train`, `get_eval`) and nats_bench/api_topology.py (fast-mode
  `__init__` reading `meta.pickle.pbz2` -> `meta_archs`, `get_more_info`): file names, the
  bz2 pickle, the {hp: ArchResults} structure, the (dataset, seed) keys, the
  "<name>@<epoch>" eval keys and the eval-name roles above, the units (print_information
  and get_latency: FLOP M, params M, latency seconds), the seed-888 legacy rule.
- D-X-Y/AutoDL-Projects exps/NATS-Bench/tss-collect.py (the script that wrote the release):
  the meta dict, the {index:06d} file names, the OrderedDict of "12"/"200", the
  ResultsCount fields (name = dataset, seed as a string, int seeds in the keys), the sparse
  legacy evaluations of the 200-epoch data and the estimated times; its `traverse_net`
  asserts of archs 0, 9 and 123, which match NB201.from_index (checked).
  exps/NATS-Bench/main-tss.py: the 12-epoch runs use seed 777, the 200-epoch runs 777,
  888, 999; xautodl/procedures/funcs_nasbench.py: per-epoch dicts keyed by int epoch.
- D-X-Y/NATS-Bench notebooks/issue-33.ipynb shows the fallback for the missing
  intermediate x-valid of cifar100 in the 200 schedule.
Not verified: the content of an actual release file (the official repo's fake_torch_dir
fixtures are binary and could not be read here), so e.g. whether every 200-epoch entry
really lacks the intermediate evaluations, or holds numpy rather than Python scalars, is
known only from the code that wrote it. Pickles are loaded with a restricted unpickler
(plain containers and numpy scalars/arrays only), so a crafted file cannot run code, and a
release with network weights is refused with a hint.
"""
from __future__ import annotations

import bz2
import io
import math
import os
import pickle
import time
from functools import lru_cache
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.spaces import NB201
from nasbench_lab.tables.schema import METRICS
from nasbench_lab.tables.writer import TableWriter

PICKLE_EXT = "pickle.pbz2"
META_FILE = f"meta.{PICKLE_EXT}"
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
OUT_SUFFIX = {"cifar10-valid": None, "cifar10": "cifar10", "cifar100": "cifar100",
              "ImageNet16-120": "imagenet16-120"}
VALID_EVAL = {"cifar10-valid": "x-valid", "cifar10": None, "cifar100": "x-valid",
              "ImageNet16-120": "x-valid"}
TEST_EVAL = {"cifar10-valid": "ori-test", "cifar10": "ori-test", "cifar100": "x-test",
             "ImageNet16-120": "x-test"}
SPLITS = {"cifar10-valid": "train 25k CIFAR-10 train images; valid the other 25k (x-valid); "
                           "test the 10k CIFAR-10 test images (ori-test)",
          "cifar10": "train all 50k CIFAR-10 train images; no validation split; test the 10k "
                     "test images (ori-test)",
          "cifar100": "train 50k; valid x-valid and test x-test, the two 5k halves of the "
                      "CIFAR-100 test set",
          "ImageNet16-120": "train 151.7k; valid x-valid and test x-test, the two 3k halves of "
                            "the ImageNet16-120 validation set"}
SOURCE = "NATS-Bench topology search space (Dong, Liu, Musial & Gabrys, TPAMI 2021), release " \
         "NATS-tss-v1_0-3ffb9-simple; the same cells and index order as NAS-Bench-201"
N_SIZE_SPACE = 32768

_SAFE_GLOBALS = {
    ("collections", "OrderedDict"), ("collections", "defaultdict"),
    ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
    ("builtins", "slice"), ("builtins", "bytearray"), ("_codecs", "encode"),
    ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"), ("builtins", "object"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "scalar"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        hint = (" (network weights: use the '-simple' release, which has none)"
                if module.startswith("torch") else "")
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}{hint}")


def safe_load(data: bytes):
    """Unpickle plain containers and numpy values only (no code execution)."""
    return _SafeUnpickler(io.BytesIO(data), encoding="latin1").load()


def load_pbz2(path: Path, what: str = "NATS-Bench import"):
    """`nats_bench.api_utils.pickle_load`: a bz2-compressed pickle, read safely."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        return safe_load(bz2.decompress(raw))
    except (OSError, EOFError, ValueError) as e:
        raise NasbenchError(f"{what}: {path.name} is truncated or not bz2-compressed ({e}); "
                            "download the file again") from None
    except (pickle.UnpicklingError, AttributeError, ImportError, IndexError, TypeError,
            KeyError) as e:
        raise NasbenchError(f"{what}: {path.name} is not a readable pickle ({e}); "
                            "download the file again") from None


@lru_cache(maxsize=64)
def _eval_keys(name: str, n: int) -> tuple[str, ...]:
    return tuple(f"{name}@{e}" for e in range(n))


def _series(d, n: int, name: str | None = None) -> np.ndarray:
    """Values of epochs 0..n-1 from a {epoch: value} dict (keys "name@epoch" for evaluation
    dicts), or a list; NaN where absent."""
    if d is None:
        return np.full(n, np.nan)
    if isinstance(d, (list, tuple, np.ndarray)):
        vals = list(d)[:n] + [None] * max(0, n - len(d))
    else:
        vals = list(map(d.get, range(n) if name is None else _eval_keys(name, n)))
        if name is None and all(v is None for v in vals):  # keys stored as strings
            vals = list(map(d.get, map(str, range(n))))
    try:
        return np.array(vals, dtype=np.float64)  # None -> NaN
    except (TypeError, ValueError):
        return np.array([math.nan if v is None else _num(v) for v in vals], dtype=np.float64)


def _num(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


class _Collect:
    """Per (dataset, hp): per-seed [n_archs, epochs] float32 curves, allocated when a seed
    first appears."""

    def __init__(self, n: int, epochs: int):
        self.n, self.epochs = n, epochs
        self.seeds: dict[int, int] = {}
        self.data: dict[str, list[np.ndarray]] = {m: [] for m in METRICS}
        self.present: list[np.ndarray] = []

    def col(self, seed: int) -> int:
        if seed not in self.seeds:
            self.seeds[seed] = len(self.seeds)
            for m in METRICS:
                self.data[m].append(np.full((self.n, self.epochs), np.nan, dtype=np.float32))
            self.present.append(np.zeros(self.n, dtype=bool))
        return self.seeds[seed]

    def ordered(self) -> tuple[list[int], list[int]]:
        seeds = sorted(self.seeds)
        return seeds, [self.seeds[s] for s in seeds]


def _fail(path: Path, msg: str):
    raise NasbenchError(f"NATS-Bench import: {path.name}: {msg}; the file is damaged or not from "
                        "NATS-tss-v1_0-3ffb9-simple: download it again")


def _read_meta(d: Path) -> list[str]:
    p = d / META_FILE
    if not p.is_file():
        raise NasbenchError(f"NATS-Bench import: {d} has no {META_FILE}; give the "
                            "NATS-tss-v1_0-3ffb9-simple directory (unpack the release first)")
    meta = load_pbz2(p)
    if not isinstance(meta, dict) or "meta_archs" not in meta:
        _fail(p, "no 'meta_archs' in the meta file")
    archs = list(meta["meta_archs"])
    if len(archs) == N_SIZE_SPACE:
        raise NasbenchError("NATS-Bench import: this is the size search space (sss, 32768 archs); "
                            "only the topology space (NATS-tss-...-simple) is supported")
    if len(archs) != NB201.size:
        _fail(p, f"meta_archs has {len(archs)} entries, expected {NB201.size}")
    for i in (0, 1, 2, NB201.size // 2, NB201.size - 1):  # cheap spot check, full check below
        if archs[i] != NB201.to_string(NB201.from_index(i)):
            _fail(p, f"meta_archs[{i}] is {archs[i]!r}, but NAS-Bench-201 index {i} is "
                     f"{NB201.to_string(NB201.from_index(i))!r}")
    return archs


def _arch_files(d: Path, n: int) -> list[Path | None]:
    names = set(os.listdir(d))
    out = []
    for i in range(n):
        for cand in (f"{i:06d}.{PICKLE_EXT}", f"{i}.{PICKLE_EXT}"):
            if cand in names:
                out.append(d / cand)
                break
        else:
            out.append(None)
    return out


def _ingest(path: Path, idx: int, arch_str: str, xdata, coll: dict, static: dict,
            want_datasets, want_hps, stats: dict) -> None:
    if not isinstance(xdata, dict):
        _fail(path, f"expected a dict keyed by schedule ('12', '200'), got {type(xdata).__name__}")
    for hp_key, res in xdata.items():
        hp = str(hp_key)
        if want_hps is not None and hp not in want_hps:
            continue
        if not isinstance(res, dict) or "all_results" not in res:
            _fail(path, f"schedule {hp!r} has no 'all_results'")
        if "arch_str" in res and isinstance(res["arch_str"], str) and res["arch_str"] != arch_str:
            _fail(path, f"holds {res['arch_str']!r}, but meta_archs[{idx}] is {arch_str!r}")
        if "arch_index" in res and int(res["arch_index"]) not in (idx, -1):
            _fail(path, f"holds arch_index {res['arch_index']}, expected {idx}")
        listed = res.get("dataset_seed") or {}
        for key, rc in res["all_results"].items():
            try:
                dataset, seed = key
                seed = int(seed)
            except (TypeError, ValueError):
                _fail(path, f"all_results key {key!r} is not (dataset, seed)")
            if dataset not in DATASETS:
                _fail(path, f"unknown dataset {dataset!r}; known: {', '.join(DATASETS)}")
            if want_datasets is not None and dataset not in want_datasets:
                continue
            if not isinstance(rc, dict) or "epochs" not in rc:
                _fail(path, f"result ({dataset}, {seed}) of schedule {hp!r} has no 'epochs'")
            epochs = int(rc["epochs"])
            c = coll.get((dataset, hp))
            if c is None:
                c = coll[(dataset, hp)] = _Collect(NB201.size, epochs)
            elif c.epochs != epochs:
                _fail(path, f"({dataset}, {seed}) of schedule {hp!r} has {epochs} epochs, other "
                            f"architectures {c.epochs}")
            j = c.col(seed)
            if c.present[j][idx]:
                _fail(path, f"({dataset}, {seed}) of schedule {hp!r} appears twice")
            E = epochs
            train_acc = _series(rc.get("train_acc1es"), E)
            vals = {"train_acc": train_acc, "train_loss": _series(rc.get("train_losses"), E)}
            tt = rc.get("train_times")
            vals["train_time"] = np.cumsum(_series(tt, E))
            ev = VALID_EVAL[dataset]
            for tag, name in (("valid", ev), ("test", TEST_EVAL[dataset])):
                if name is None:
                    continue
                vals[f"{tag}_acc"] = _series(rc.get("eval_acc1es"), E, name)
                vals[f"{tag}_loss"] = _series(rc.get("eval_losses"), E, name)
                vals[f"{tag}_time"] = _series(rc.get("eval_times"), E, name)
            if np.isnan(train_acc).all() and np.isnan(vals.get("valid_acc", train_acc)).all() \
                    and np.isnan(vals.get("test_acc", train_acc)).all():
                _fail(path, f"({dataset}, {seed}) of schedule {hp!r} has no accuracies")
            stats["nan_values"] += int(sum(np.isnan(v).sum() for k, v in vals.items()
                                           if k != "train_time"))
            for m, v in vals.items():
                c.data[m][j][idx] = v
            c.present[j][idx] = True
            st = static.setdefault((dataset, hp), {})
            st.setdefault(idx, []).append((seed, _num(rc.get("params")), _num(rc.get("flop")),
                                           _latency(rc.get("latency"))))
        for dataset, seeds in listed.items():
            if want_datasets is not None and dataset not in want_datasets:
                continue
            for s in seeds:
                if (dataset, s) not in res["all_results"] and (dataset, int(s)) not in res["all_results"]:
                    _fail(path, f"dataset_seed lists ({dataset}, {s}) of schedule {hp!r} but "
                                "all_results lacks it")


def _latency(lat) -> float:
    """ResultsCount.get_latency: the mean of the stored list (seconds); NaN where the API
    would give -1 (no list) or a non-positive value, which get_compute_costs leaves out."""
    if not isinstance(lat, (list, tuple)) or not lat:
        return math.nan
    v = float(np.mean([_num(x) for x in lat]))
    return v if v > 0 else math.nan


LEGACY_SEED = 888  # get_compute_costs takes this seed's flops/params when the seeds disagree


def _cost_value(seeds: np.ndarray, vals: np.ndarray) -> float:
    """flops or params of one architecture as get_compute_costs computes them."""
    ok = np.isfinite(vals)
    if not ok.any():
        return math.nan
    if len({f"{v:.5f}" for v in vals[ok]}) > 1 and LEGACY_SEED in seeds[ok]:
        return float(vals[ok][list(seeds[ok]).index(LEGACY_SEED)])
    return float(vals[ok].mean())


def _static_arrays(static: dict, dataset: str, hps: list[str]) -> dict[str, np.ndarray]:
    n = NB201.size
    out = {m: np.full(n, np.nan) for m in ("params", "flops", "latency_ms")}
    order = sorted(hps, key=lambda h: (h != "12", int(h) if h.isdigit() else 0))
    for hp in reversed(order):  # the preferred schedule ('12', like get_cost_info) writes last
        for idx, rows in static.get((dataset, hp), {}).items():
            a = np.array(rows, dtype=np.float64)
            seeds = a[:, 0].astype(np.int64)
            for m, col in (("params", 1), ("flops", 2)):
                v = _cost_value(seeds, a[:, col])
                if np.isfinite(v):
                    out[m][idx] = v * 1e6
            lat = a[:, 3][np.isfinite(a[:, 3])]
            if lat.size:
                out["latency_ms"][idx] = lat.mean() * 1e3
    return out


def _write_tables(coll: dict, static: dict, out: Path, log) -> list[Path]:
    """One table per dataset from the collected curves."""
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    for dataset in DATASETS:
        hps = sorted((hp for (ds, hp) in coll if ds == dataset), key=lambda h: coll[(dataset, h)].epochs)
        if not hps:
            continue
        suffix = OUT_SUFFIX[dataset]
        path = out if suffix is None else out.with_name(f"{out.stem}-{suffix}.h5")
        metrics = METRICS if VALID_EVAL[dataset] else \
            tuple(m for m in METRICS if m not in ("valid_loss", "valid_time"))
        note = {"source": SOURCE, "dataset_split": SPLITS[dataset],
                "seeds": "one column per training seed of the source; an (arch, seed) the source "
                         "lacks is missing (present False), never filled in",
                "static": "params and flops are counts (source millions x 1e6), mean over the seeds "
                          "of schedule 12 (else 200), seed 888's value where the seeds disagree "
                          "(the API's legacy fix); latency_ms is the source latency (seconds) x 1000",
                "times": "train_time cumulative training seconds to the epoch (sum of the source's "
                         "per-epoch train_times); valid_time/test_time one evaluation pass; the "
                         "release's times are per-epoch estimates (constant per epoch, scaled by "
                         "set size), not measurements",
                "sparse": "schedule 200 came from NAS-Bench-201's checkpoints: cifar10-valid has "
                          "ori-test (test) only at the last epoch, cifar100 and ImageNet16-120 have "
                          "x-valid/x-test only at the last epoch; other epochs are NaN"}
        if not VALID_EVAL[dataset]:
            note["note"] = ("cifar10 (not cifar10-valid) has no validation split: valid_acc is NaN; "
                            "search on cifar10-valid, use this table for test accuracy only")
        summary = []
        with TableWriter(path, name=path.stem, space=NB201, dataset=dataset, provenance=note) as w:
            for hp in hps:
                c = coll[(dataset, hp)]
                seeds, cols = c.ordered()
                w.add_schedule(hp, epochs=c.epochs, recorded_epochs=range(1, c.epochs + 1),
                               seeds=[str(s) for s in seeds], metrics=metrics,
                               protocol={"epochs": c.epochs, "source_hp": hp,
                                         "lr_schedule": f"cosine to 0 at epoch {c.epochs}",
                                         "split": SPLITS[dataset]})
                present = np.stack([c.present[j] for j in cols], axis=1)
                for m in metrics:
                    arr = np.stack([c.data[m][j] for j in cols], axis=1)
                    arr[~present] = np.nan
                    w.write(hp, m, arr)
                    del arr
                w.set_present(hp, present)
                summary.append(f"{hp} epochs: {int(present.any(1).sum())} archs, seeds "
                               f"{','.join(map(str, seeds))}, {int(present.sum())} runs, "
                               f"{int((~present).sum())} missing")
            for m, v in _static_arrays(static, dataset, hps).items():
                w.set_static(m, v)
        paths.append(path)
        log(f"imported NATS-Bench {dataset}: " + "; ".join(summary)
            + f" -> {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return paths


def import_natsbench(directory: str | os.PathLike, out: str | os.PathLike, *, datasets=None,
                     schedules=None, log=print, progress: bool = True) -> list[Path]:
    """Convert the NATS-Bench topology release into one table per dataset; returns their paths.

    datasets: subset of DATASETS to convert (default: all the release holds);
    schedules: subset of the source's schedules, e.g. ["200"] (default: all).
    """
    t0 = time.perf_counter()
    d = Path(directory)
    if not d.is_dir():
        raise NasbenchError(f"NATS-Bench import: {d} is not a directory (expected the unpacked "
                            "NATS-tss-v1_0-3ffb9-simple directory)")
    out = Path(out)
    if out.suffix != ".h5":
        raise NasbenchError(f"NATS-Bench import: --out must end in .h5, got {out}")
    if datasets is not None:
        bad = [x for x in datasets if x not in DATASETS]
        if bad:
            raise NasbenchError(f"NATS-Bench import: unknown dataset {bad[0]!r}; valid: {', '.join(DATASETS)}")
        datasets = set(datasets)
    want_hps = None if schedules is None else {str(s) for s in schedules}
    archs = _read_meta(d)
    files = _arch_files(d, len(archs))
    n_found = sum(f is not None for f in files)
    if n_found == 0:
        raise NasbenchError(f"NATS-Bench import: {d} has no architecture files "
                            f"(000000.{PICKLE_EXT} ...); the download is incomplete")
    for i, s in enumerate(archs):
        if files[i] is not None and s != NB201.to_string(NB201.from_index(i)):
            _fail(d / META_FILE, f"meta_archs[{i}] is {s!r}, not NAS-Bench-201's arch {i}")

    coll: dict[tuple[str, str], _Collect] = {}
    static: dict = {}
    stats = {"nan_values": 0}
    from tqdm import tqdm

    for i, f in enumerate(tqdm(files, desc="NATS-Bench archs", unit="arch", disable=not progress,
                               mininterval=0.5)):
        if f is None:
            continue
        _ingest(f, i, archs[i], load_pbz2(f), coll, static, datasets, want_hps, stats)
    if not coll:
        raise NasbenchError("NATS-Bench import: no results for the requested datasets/schedules "
                            f"in {d}")
    if n_found < len(archs):
        log(f"note: {len(archs) - n_found} of {len(archs)} architecture files are absent; "
            "those architectures are recorded as missing")
    if stats["nan_values"]:
        log(f"note: {stats['nan_values']} per-epoch values are absent from the source and stored as NaN")

    paths = _write_tables(coll, static, out, log)
    for c in coll.values():  # free the curves before returning
        c.data.clear()
    log(f"converted {n_found} architecture files into {len(paths)} tables in "
        f"{time.perf_counter() - t0:.1f} s")
    return paths
