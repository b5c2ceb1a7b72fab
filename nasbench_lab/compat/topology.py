"""NATS-Bench's topology API (`nats_bench.api_topology.NATStopology`, v1.8) over our tables.

Names, arguments, defaults, keys and units follow the official code (D-X-Y/NATS-Bench
nats_bench/api_utils.py and api_topology.py): accuracies in percent, losses mean
cross-entropy, times in seconds, FLOPs and params in millions, latency in seconds; `hp` is
the training schedule ('12' or '200', default '12'), `iepoch` 0-based (default: the last
epoch), `is_random` True = one trial at random (the default), False = the mean over the
trials, an int = the trial of that seed. What a table does not hold raises a one-line
error (`CompatError`, a ValueError; `Unavailable`, a KeyError, for a key of a result dict).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.compat._data import NUM_CLASSES, CompatError, DatasetData, Info
from nasbench_lab.compat.clock import SimulatedClock
from nasbench_lab.compat.results import ArchResults
from nasbench_lab.spaces import NB201, Arch

#: the datasets simulate_train_eval accepts in NATS-Bench ('cifar10' reads cifar10-valid)
SIMULATE_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
_UNSUPPORTED = {
    "get_net_param": "the tables hold results, not trained weights",
    "reload": "there is no archive to reload: every table is opened lazily and answers at once",
    "clear_params": "the tables hold no weights to clear",
    "get_unique_str": "NATS-Bench's unique-string format is not reproduced; use "
                      "nasbench_lab.spaces.NB201.canonical_key(NB201.from_index(i))",
    "show": "use query_meta_info_by_index(i, hp) and get_more_info",
    "query_info_str_by_arch": "use get_more_info",
    "query_by_arch": "use get_more_info",
}


class NATStopology:
    """NATS-Bench's topology-space API, answered from nasbench_lab tables (one per dataset)."""

    def __init__(self, tables: dict[str, DatasetData], filename: str | None, *, seed=None,
                 verbose: bool = False):
        self._data = tables
        self.filename = filename
        self.verbose = verbose  # accepted for compatibility; nothing is printed
        self._rng = np.random.default_rng(seed)
        self._clock = SimulatedClock()
        self._archs: list[str] | None = None

    # --- the space ---------------------------------------------------------------------------
    @property
    def meta_archs(self) -> list[str]:
        """The 15,625 arch strings in the official order (built on first use, about 0.3 s)."""
        if self._archs is None:
            self._archs = [NB201.to_string(NB201.from_index(i)) for i in range(NB201.size)]
        return self._archs

    def __len__(self) -> int:
        return NB201.size

    def __getitem__(self, index: int) -> str:
        return self.arch(index) if index >= 0 else self.meta_archs[index]

    def __repr__(self) -> str:
        tables = ", ".join(f"{d}: {v.table.name}" for d, v in self._data.items())
        return f"NATStopology({len(self)}/{len(self)} architectures, nasbench_lab tables {{{tables}}})"

    def arch(self, index: int) -> str:
        if not 0 <= int(index) < len(self):
            raise CompatError(f"invalid index : {index} vs. {len(self)}.")
        return NB201.to_string(NB201.from_index(int(index)))

    def random(self) -> int:
        """A random index, from this API's own generator (`create(..., seed=S)`), not Python's
        global `random` as in NATS-Bench."""
        return int(self._rng.integers(len(self)))

    def query_index_by_arch(self, arch) -> int:
        """Index of an arch string, of an object with `tostr()`, of an Arch, or a checked index;
        -1 for a string that is not an architecture of the space (as NATS-Bench)."""
        if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
            if 0 <= arch < len(self):
                return int(arch)
            raise CompatError(f"Invalid architecture index {arch} vs [0, {len(self)}].")
        if isinstance(arch, Arch):
            return NB201.to_index(NB201.check(arch))
        if hasattr(arch, "tostr"):
            arch = arch.tostr()
        if isinstance(arch, str):
            try:  # exactly the official string (as NATS-Bench's dict lookup), else -1
                a = NB201.from_string(arch)
            except NasbenchError:
                return -1
            return NB201.to_index(a) if NB201.to_string(a) == arch else -1
        return -1

    def _index(self, arch) -> int:
        idx = self.query_index_by_arch(arch)
        if idx < 0:
            raise CompatError(f"{arch!r} is not an architecture of the NAS-Bench-201 topology space "
                              "(expected e.g. '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|"
                              "nor_conv_3x3~1|skip_connect~2|')")
        return idx

    @staticmethod
    def str2lists(arch_str: str) -> list[tuple[tuple[str, int], ...]]:
        """'|op~0|+|op~0|op~1|+...' -> one tuple of (op, input node) per node after the input."""
        nodes = []
        for node in arch_str.split("+"):
            edges = [e for e in node.split("|") if e]
            nodes.append(tuple((op, int(src)) for op, src in (e.split("~") for e in edges)))
        return nodes

    @staticmethod
    def str2matrix(arch_str: str, search_space=("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3",
                                                "avg_pool_3x3")) -> np.ndarray:
        """The NAS-Bench-101-style matrix: [node, input node] = op index (lower triangle)."""
        nodes = NATStopology.str2lists(arch_str)
        m = np.zeros((len(nodes) + 1, len(nodes) + 1))
        for i, node in enumerate(nodes):
            for op, src in node:
                if op not in search_space:
                    raise CompatError(f"this op ({op}) is not in {list(search_space)}")
                m[i + 1, src] = search_space.index(op)
        return m

    # --- datasets ------------------------------------------------------------------------------
    @property
    def datasets(self) -> list[str]:
        return list(self._data)

    @property
    def avaliable_hps(self) -> list[str]:  # sic: NATS-Bench's spelling
        return sorted({h for d in self._data.values() for h in d.hps}, key=lambda h: (len(h), h))

    available_hps = avaliable_hps
    search_space_name = "topology"
    is_topology, is_size = True, False
    full_train_epochs = full_epochs_in_paper = 200
    fast_mode = False
    archive_dir = None

    def _dataset(self, dataset: str) -> DatasetData:
        if dataset in self._data:
            return self._data[dataset]
        have = ", ".join(self._data) or "(none)"
        hint = ""
        if dataset == "cifar10" and "cifar10-valid" in self._data:
            hint = ("; NATS-Bench's 'cifar10' is the network trained on train+valid (test accuracy only), "
                    "'cifar10-valid' the one trained on 25k images with a validation split")
        raise CompatError(f"no table for dataset {dataset!r}; this API has: {have}{hint}")

    # --- results -------------------------------------------------------------------------------
    def get_more_info(self, index, dataset: str, iepoch=None, hp="12", is_random=True) -> Info:
        """NATS-Bench's get_more_info: train-*, valid-*, test-* (and valtest-*) loss, accuracy,
        per-time and all-time of one architecture, plus 'comment' for the CIFAR-10 settings."""
        idx = self._index(index)
        data = self._dataset(dataset)
        sch = data.schedule(hp)
        ei = data.epoch_index(sch, iepoch)
        col = data.column(sch, idx, is_random, self._rng)
        info, missing = {}, {}
        # NATS-Bench: "valid" is x-valid where the dataset has it; "test" is ori-test for the
        # CIFAR-10 settings and x-test otherwise; "valtest" (cifar100, ImageNet16-120) is ori-test
        roles = [("train", "train")]
        if "x-valid" in data.sets:
            roles.append(("valid", "valid"))
        roles.append(("test", "test"))
        if data.sets.get("ori-test", "") is None:
            for k in ("loss", "accuracy", "per-time", "all-time"):
                missing[f"valtest-{k}"] = (f"{dataset}: 'ori-test' (x-valid and x-test together) is not in "
                                           f"table {data.table.name!r}; use valid-* or test-*")
        for prefix, split in roles:
            vals, why = data.set_metrics(sch, split, idx, col, ei)
            total = vals["iepoch"] + 1
            for field, key in (("loss", "loss"), ("accuracy", "accuracy")):
                if field in vals:
                    info[f"{prefix}-{key}"] = vals[field]
                else:
                    missing[f"{prefix}-{key}"] = why[field]
            if "all_time" in vals:
                info[f"{prefix}-per-time"] = vals["all_time"] / total
                info[f"{prefix}-all-time"] = vals["all_time"]
            else:
                missing[f"{prefix}-per-time"] = missing[f"{prefix}-all-time"] = why["all_time"]
        if dataset == "cifar10-valid":
            info["comment"] = (f"cifar10-valid: trained for {hp} epochs on 25k CIFAR-10 train images; valid-* on "
                               "the other 25k train images, test-* on the 10k CIFAR-10 test images; per-time is "
                               "per epoch, all-time the total")
        elif dataset == "cifar10":
            info["comment"] = (f"cifar10: trained for {hp} epochs on all 50k CIFAR-10 train images (train-* on "
                               "them); test-* on the 10k test images; no validation split; per-time is per "
                               "epoch, all-time the total")
        return Info(info, missing)

    def simulate_train_eval(self, arch, dataset: str, iepoch=None, hp="12", account_time=True,
                            *, clock: SimulatedClock | None = None):
        """NATS-Bench's simulated query: (validation accuracy, latency, time cost, total time).

        The cost is train-all-time + valid-per-time (training to the epoch, one validation
        pass); 'cifar10' reads cifar10-valid (the setting with a validation split), as in
        NATS-Bench. The trial is drawn at random (is_random=True). `clock`: charge this
        SimulatedClock instead of the API's hidden one (`used_time`, `reset_time()`); a clock
        with a budget refuses a query that would exceed it (BudgetExhausted, nothing charged).
        latency is None when the table has none (NATS-Bench also gives None then)."""
        idx = self._index(arch)
        if dataset not in SIMULATE_DATASETS and dataset in NUM_CLASSES:
            raise CompatError(f"Invalid dataset name : {dataset} vs {SIMULATE_DATASETS} (NATS-Bench's "
                              "simulate_train_eval takes 'cifar10' and reads cifar10-valid)")
        name = "cifar10-valid" if dataset == "cifar10" else dataset
        info = self.get_more_info(idx, name, iepoch=iepoch, hp=hp, is_random=True)
        if "valid-accuracy" not in info:
            raise CompatError(f"{name}: table {self._dataset(name).table.name!r} has no validation accuracy "
                              "to simulate a search with")
        valid_acc = info["valid-accuracy"]
        try:
            cost = info["train-all-time"] + info["valid-per-time"]
        except KeyError as e:
            raise CompatError(f"simulate_train_eval on {name} needs training and validation times: {e}; "
                              "the NAS-Bench-201 exports have times for cifar10-valid only "
                              "(simulate_train_eval(arch, 'cifar10', ...))") from None
        latency = self._latency(idx, dataset)
        clock = self._clock if clock is None else clock
        if account_time:
            clock.charge(cost)
        return valid_acc, latency, cost, clock.used

    @property
    def used_time(self) -> float:
        """The hidden clock of simulate_train_eval (NATS-Bench's); prefer an explicit clock."""
        return self._clock.used

    def reset_time(self) -> None:
        self._clock.reset()

    def _latency(self, idx: int, dataset: str):
        for name in (dataset, "cifar10-valid" if dataset == "cifar10" else None):
            if name in self._data:
                lat = self._data[name].latency(idx)
                if lat is not None:
                    return lat
        return None

    def query_meta_info_by_index(self, arch_index, hp="12") -> ArchResults:
        """NATS-Bench's ArchResults of one architecture for one hp, over the datasets that have it."""
        idx = self._index(arch_index)
        have = {d: v for d, v in self._data.items() if str(hp) in v.table.schedules}
        if not have:
            raise CompatError(f"The {idx}-th architecture only has hyper-parameters of {self.avaliable_hps} "
                              f"instead of {hp}.")
        return ArchResults(idx, self.arch(idx), str(hp), have, self._rng)

    def query_by_index(self, arch_index, dataname=None, hp="12"):
        info = self.query_meta_info_by_index(arch_index, hp)
        if dataname is None:
            return info
        if dataname not in info.get_dataset_names():
            raise CompatError(f"invalid dataset-name : {dataname} vs. {info.get_dataset_names()}")
        return info.query(dataname)

    def get_cost_info(self, index, dataset: str, hp="12") -> dict:
        """flops (M), params (M), latency (s) and T-<set>@epoch / @total times."""
        return self.query_meta_info_by_index(index, hp).get_compute_costs(dataset)

    def get_latency(self, index, dataset: str, hp="12") -> float:
        return self.get_cost_info(index, dataset, hp)["latency"]

    def get_net_config(self, index, dataset: str) -> dict:
        idx = self._index(index)
        data = self._dataset(dataset)
        proto = next(iter(data.table.schedules.values())).protocol
        c, n = proto.get("channels", 16), proto.get("cells_per_stage", 5)
        return {"name": "infer.tiny", "C": int(c), "N": int(n), "arch_str": self.arch(idx),
                "num_classes": NUM_CLASSES.get(dataset, proto.get("num_classes", 10))}

    def find_best(self, dataset: str, metric_on_set: str, flop_max=None, param_max=None, hp="12",
                  enforce_all=None):
        """(index, accuracy) of the best seed-mean accuracy on a set, with NATS-Bench's name remapping
        ('cifar10' + 'valid' -> cifar10-valid x-valid, + 'test' -> cifar10 ori-test)."""
        if dataset == "cifar10" and metric_on_set == "valid":
            dataset, metric_on_set = "cifar10-valid", "x-valid"
        elif dataset == "cifar10" and metric_on_set == "test":
            metric_on_set = "ori-test"
        elif dataset in ("cifar100", "ImageNet16-120") and metric_on_set in ("valid", "test"):
            metric_on_set = "x-" + metric_on_set
        data = self._dataset(dataset)
        sch = data.schedule(hp)
        split = data.eval_split(metric_on_set)
        metric = f"{split}_acc"
        if metric not in sch.metrics:
            raise CompatError(data.why_missing(sch, metric, len(sch.recorded_epochs) - 1))
        acc = data.table.lookup(metric, np.arange(len(self)), sch.name)
        ok = np.isfinite(acc)
        for limit, static in ((flop_max, "flops"), (param_max, "params")):
            if limit is not None:
                if static not in data.static_names:
                    raise CompatError(f"{dataset}: table {data.table.name!r} has no {static}, so "
                                      f"{'flop' if static == 'flops' else 'param'}_max cannot be applied")
                ok &= data.table.static(static) / 1e6 <= float(limit)
        if not ok.any():
            return -1, None
        best = int(np.flatnonzero(ok)[np.argmax(acc[ok])])
        return best, float(acc[best])

    def statistics(self, dataset: str, hp) -> dict[int, int]:
        """{number of trials: number of architectures} for one dataset and hp."""
        data = self._dataset(dataset)
        counts = data.table.present(data.schedule(hp).name).sum(1)
        values, n = np.unique(counts, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, n)}

    def __getattr__(self, name):
        if name in _UNSUPPORTED:
            def unsupported(*args, **kwargs):
                raise CompatError(f"{name} is not provided by nasbench_lab.compat: {_UNSUPPORTED[name]}")
            return unsupported
        raise AttributeError(name)


def _tables_from(source) -> tuple[list, str | None]:
    """Built-in table names / paths -> opened tables."""
    from nasbench_lab.tables import builtin_tables, open_table

    if source is None:
        names = [n for n in ("nb201-cifar10-valid", "nb201-cifar10", "nb201-cifar100", "nb201-imagenet16-120")
                 if n in builtin_tables()]
        if not names:
            raise CompatError("the built-in NAS-Bench-201 tables are not installed (nasbench_lab/data/nb201-*.h5)")
        return [open_table(n) for n in names], "nasbench_lab built-in NAS-Bench-201 tables"
    if isinstance(source, dict):
        raise CompatError("a dict loaded from NATS-Bench's benchmark file is not supported; convert the "
                          "release with `nasbench-lab import natsbench DIR --out FILE.h5` and create(FILE.h5)")
    if isinstance(source, (list, tuple)):
        return [t for s in source for t in _tables_from(s)[0]], None
    path = Path(os.fspath(source))
    if path.is_dir():
        if (path / "meta.pickle.pbz2").is_file():
            raise CompatError(f"{path} is a NATS-Bench release, not a nasbench_lab table: convert it with "
                              f"`nasbench-lab import natsbench {path} --out FILE.h5`, then create(FILE.h5's folder)")
        files = sorted(path.glob("*.h5"))
        if not files:
            raise CompatError(f"{path} holds no .h5 tables")
        return [open_table(f) for f in files], path.name
    if str(source).endswith((".pth", ".pbz2", ".pickle")):
        raise CompatError(f"{source} is a NAS-Bench-201/NATS-Bench benchmark file, not a nasbench_lab table; "
                          "convert the NATS-Bench release with `nasbench-lab import natsbench`")
    return [open_table(source)], path.name


def create(file_path_or_dict=None, search_space="tss", fast_mode=False, verbose=False, *,
           seed=None) -> NATStopology:
    """Like `nats_bench.create`: the topology API over nasbench_lab tables.

    file_path_or_dict: None = the built-in NAS-Bench-201 tables (nb201-cifar10-valid,
    nb201-cifar10, nb201-cifar100, nb201-imagenet16-120); a built-in table name or a .h5 path
    (one dataset); a folder of tables (e.g. the output of `nasbench-lab import natsbench` or
    `import nb201`); or a list of those. Each table serves the dataset it records.
    search_space: 'tss' / 'topology' (the size space 'sss' is not in nasbench_lab).
    fast_mode, verbose: accepted for compatibility (tables open lazily; nothing is printed).
    seed: seeds the generator of `random()` and of is_random=True draws."""
    if search_space in ("sss", "size"):
        raise CompatError("the size search space (sss) is not in nasbench_lab; only the topology space "
                          "(tss, NAS-Bench-201's cells) is")
    if search_space not in ("tss", "topology"):
        raise CompatError(f"invalid search space : {search_space}")
    tables, filename = _tables_from(file_path_or_dict)
    data: dict[str, DatasetData] = {}
    for t in tables:
        if t.space.name != "nb201":
            raise CompatError(f"table {t.name!r} is in space {t.space.name!r}; NATS-Bench's topology API needs "
                              "an NB201 table (15,625 cells)")
        if t.dataset in data:
            raise CompatError(f"two tables record dataset {t.dataset!r} ({data[t.dataset].table.name!r}, "
                              f"{t.name!r}); give one per dataset")
        data[t.dataset] = DatasetData(t)
    return NATStopology(data, filename, seed=seed, verbose=verbose)
