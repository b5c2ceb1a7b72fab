"""NATS-Bench's ArchResults / ResultsCount (one architecture, one hp), read from tables."""
from __future__ import annotations

from nasbench_lab.compat._data import CompatError, DatasetData, Info


class ArchResults:
    """What `query_meta_info_by_index(index, hp)` returns in NATS-Bench, for the datasets whose
    table has that hp."""

    def __init__(self, index: int, arch_str: str, hp: str, data: dict[str, DatasetData], rng):
        self.arch_index = int(index)
        self.arch_str = arch_str
        self.hp = hp
        self._data = data
        self._rng = rng

    def __repr__(self) -> str:
        n = sum(len(self.get_dataset_seeds(d)) for d in self._data)
        return f"ArchResults(arch-index={self.arch_index}, arch={self.arch_str}, {n} runs, hp={self.hp})"

    def arch_idx_str(self) -> str:
        return f"{self.arch_index:06d}"

    def _get(self, dataset: str) -> tuple[DatasetData, object]:
        if dataset not in self._data:
            raise CompatError(f"invalid dataset-name : {dataset} vs. {self.get_dataset_names()}")
        d = self._data[dataset]
        return d, d.schedule(self.hp)

    def get_dataset_names(self) -> list[str]:
        return list(self._data)

    def get_dataset_seeds(self, dataset: str) -> list:
        d, sch = self._get(dataset)
        return d.seeds(sch, self.arch_index)

    def get_total_epoch(self, dataset=None) -> int:
        names = [dataset] if dataset is not None else list(self._data)
        return max(self._get(n)[1].epochs for n in names)

    def get_metrics(self, dataset: str, setname: str, iepoch=None, is_random=False) -> Info:
        """{iepoch, loss, accuracy, cur_time, all_time} on 'train' or an evaluation set
        ('x-valid', 'ori-test', 'x-test'; 'valid' = 'x-valid'); is_random False = seed mean."""
        d, sch = self._get(dataset)
        split = d.eval_split(setname)
        ei = d.epoch_index(sch, iepoch)
        col = d.column(sch, self.arch_index, is_random, self._rng)
        vals, missing = d.set_metrics(sch, split, self.arch_index, col, ei)
        return Info(vals, missing)

    def get_compute_costs(self, dataset: str) -> dict:
        d, sch = self._get(dataset)
        return d.compute_costs(sch, self.arch_index)

    def get_latency(self, dataset: str) -> float:
        d, _ = self._get(dataset)
        lat = d.latency(self.arch_index)
        if lat is None:
            raise CompatError(f"{dataset}: table {d.table.name!r} has no latency (its source does not record it)")
        return lat

    def query(self, dataset: str, seed=None):
        """{seed: ResultsCount} of every trial (seed None), or the ResultsCount of one seed."""
        d, sch = self._get(dataset)
        if seed is None:
            return {s: ResultsCount(d, sch, self.arch_index, s) for s in self.get_dataset_seeds(dataset)}
        if seed not in self.get_dataset_seeds(dataset):
            raise CompatError(f"{dataset}, hp={self.hp!r}: no trial with seed {seed!r}; trials: "
                              f"{self.get_dataset_seeds(dataset)}")
        return ResultsCount(d, sch, self.arch_index, seed)


class ResultsCount:
    """One trial (one seed) of one architecture: NATS-Bench's get_train / get_eval."""

    def __init__(self, data: DatasetData, sch, index: int, seed):
        self._d, self._sch, self._idx, self.seed = data, sch, index, seed
        self._col = sch.seeds.index(str(seed))
        self.name = data.dataset
        self.epochs = sch.epochs
        self.params = self._static("params")
        self.flop = self._static("flops")

    def _static(self, m):
        return float(self._d.table.static(m)[self._idx]) / 1e6 if m in self._d.static_names else None

    def __repr__(self) -> str:
        return f"ResultsCount({self.name}, arch-index={self._idx}, seed={self.seed}, epochs={self.epochs})"

    def get_total_epoch(self) -> int:
        return self.epochs

    def get_latency(self) -> float:
        lat = self._d.latency(self._idx)
        return -1.0 if lat is None else lat  # NATS-Bench: -1 means not available

    def get_train(self, iepoch=None) -> Info:
        return self._metrics("train", iepoch)

    def get_eval(self, name: str, iepoch=None) -> Info:
        return self._metrics(self._d.eval_split(name), iepoch)

    def _metrics(self, split: str, iepoch) -> Info:
        ei = self._d.epoch_index(self._sch, iepoch)
        vals, missing = self._d.set_metrics(self._sch, split, self._idx, self._col, ei)
        return Info(vals, missing)

    @property
    def train_acc1es(self) -> dict[int, float]:
        """{iepoch: training accuracy} over the recorded epochs (NaN where the source has none)."""
        a = self._d.table.array(self._sch.name, "train_acc") if "train_acc" in self._sch.metrics else None
        return {e - 1: (float(a[self._idx, self._col, i]) if a is not None else float("nan"))
                for i, e in enumerate(self._sch.recorded_epochs)}


__all__ = ["ArchResults", "ResultsCount"]
