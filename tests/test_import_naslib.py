"""NASLib NB201 pickles: fixtures in the layout NASLib's query reads (naslib/search_spaces/
nasbench201/graph.py; the entry follows NASLib's own stand-in in tests/test_nb201_search_space.py:
four per-epoch lists and cost_info flops/params/latency/train_time; see the docstring of
nasbench_lab.tables.import_naslib), values, optional per-epoch times, missing archs, damage."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from nasbench_lab import NasbenchError
from nasbench_lab.spaces import NB201
from nasbench_lab.tables import Table
from nasbench_lab.tables.import_naslib import import_naslib

ARCHS = (0, 5, 6111, 15624)
E = 40  # NASLib has 200; shorter curves keep the test fast, the layout is the same


def _per_epoch_time(idx):
    return 7.0 + idx % 3  # cost_info train_time: NB201's training seconds per epoch


def _entry(idx, ds, eval_times=False, train_times=False):
    """One data[arch_str][dataset] entry. NASLib's stand-in has no per-epoch time lists;
    `eval_times` / `train_times` add them (NASLib's query indexes eval_times per epoch)."""
    k = ("cifar10-valid", "cifar100", "ImageNet16-120").index(ds)
    res = {"train_acc1es": [20 + idx % 40 + k + e * 0.3 for e in range(E)],
           "train_losses": [2.0 - e * 0.005 for e in range(E)],
           "eval_acc1es": [15 + idx % 40 + k + e * 0.25 for e in range(E)],
           "eval_losses": [2.1 - e * 0.004 for e in range(E)],
           "cost_info": {"flops": 10.0 + idx, "params": 0.2 + idx * 1e-4, "latency": 0.015,
                         "train_time": _per_epoch_time(idx)}}
    if eval_times:
        res["eval_times"] = [1.5] * E
    if train_times:
        res["train_times"] = [6.0] * E
    return res


def write_naslib(d: Path, archs=ARCHS, **kw):
    d.mkdir(parents=True, exist_ok=True)
    for fname, ds in (("nb201_cifar10_full_training.pickle", "cifar10-valid"),
                      ("nb201_cifar100_full_training.pickle", "cifar100"),
                      ("nb201_ImageNet16_full_training.pickle", "ImageNet16-120")):
        data = {NB201.to_string(NB201.from_index(i)): {ds: _entry(i, ds, **kw)} for i in archs}
        (d / fname).write_bytes(pickle.dumps(data, protocol=4))
    return d


def test_naslib_values_and_missing(tmp_path):
    d = write_naslib(tmp_path / "naslib")
    lines = []
    paths = import_naslib(d, tmp_path / "nl.h5", log=lines.append, progress=False)
    assert [p.name for p in paths] == ["nl.h5", "nl-cifar100.h5", "nl-imagenet16-120.h5"]
    assert "4 archs, 40 epochs" in "\n".join(lines)
    with Table(paths[1]) as t:
        assert t.dataset == "cifar100" and list(t.schedules) == ["40"]
        r = t.query(6111, epoch=30, seed="source")
        assert r.valid_acc == pytest.approx(15 + 6111 % 40 + 1 + 29 * 0.25, abs=1e-4)
        assert r.train_acc == pytest.approx(20 + 6111 % 40 + 1 + 29 * 0.3, abs=1e-4)
        assert np.isnan(r.test_acc)  # NASLib does not separate valid and test
        # cost_info train_time is seconds per epoch: cumulative estimate; no evaluation time
        assert r.train_time == pytest.approx(_per_epoch_time(6111) * 30)
        assert "valid_time" not in t.schedules["40"].metrics and not t.has_costs("40")
        assert "cost_info train_time" in t.provenance["costs"]
        assert t.static("flops")[5] == pytest.approx(15e6)
        assert t.static("params")[5] == pytest.approx((0.2 + 5e-4) * 1e6)
        assert t.static("latency_ms")[5] == pytest.approx(15.0)
        assert t.present("40")[:, 0].sum() == 4 and not t.present("40")[1, 0]
        assert t.check() == []


def test_naslib_per_epoch_time_lists(tmp_path):
    d = write_naslib(tmp_path / "naslib", eval_times=True)
    (p, *_) = import_naslib(d, tmp_path / "nl.h5", log=lambda s: None, progress=False)
    with Table(p) as t:
        assert t.has_costs("40")
        r = t.query(5, epoch=10, seed="source")
        assert r.valid_time == pytest.approx(1.5) and r.train_time == pytest.approx(_per_epoch_time(5) * 10)
    d = write_naslib(tmp_path / "naslib2", eval_times=True, train_times=True)
    (p, *_) = import_naslib(d, tmp_path / "nl2.h5", log=lambda s: None, progress=False)
    with Table(p) as t:
        assert t.query(5, epoch=10, seed="source").train_time == pytest.approx(60.0)  # the lists win
        assert "train_times lists" in t.provenance["costs"]


def test_naslib_errors(tmp_path):
    with pytest.raises(NasbenchError, match="holds none of"):
        (tmp_path / "e").mkdir()
        import_naslib(tmp_path / "e", tmp_path / "o.h5", log=lambda s: None, progress=False)
    d = write_naslib(tmp_path / "n1")
    f = d / "nb201_cifar100_full_training.pickle"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(NasbenchError, match="nb201_cifar100_full_training.pickle is not a readable pickle"):
        import_naslib(d, tmp_path / "o.h5", log=lambda s: None, progress=False)
    d = write_naslib(tmp_path / "n2")
    f = d / "nb201_cifar10_full_training.pickle"
    f.write_bytes(pickle.dumps({"|conv~0|": {}}))
    with pytest.raises(NasbenchError, match="malformed NB201 arch string"):
        import_naslib(d, tmp_path / "o.h5", log=lambda s: None, progress=False)
    f.write_bytes(pickle.dumps({NB201.to_string(NB201.from_index(0)): {"cifar10-valid": {"x": 1}}}))
    with pytest.raises(NasbenchError, match="has no 'eval_acc1es'"):
        import_naslib(d, tmp_path / "o.h5", log=lambda s: None, progress=False)
    e = _entry(0, "cifar10-valid")
    e["eval_acc1es"] = [x / 100 for x in e["eval_acc1es"]]
    e["train_acc1es"] = [x / 100 for x in e["train_acc1es"]]
    f.write_bytes(pickle.dumps({NB201.to_string(NB201.from_index(0)): {"cifar10-valid": e}}))
    with pytest.raises(NasbenchError, match="all <= 1"):
        import_naslib(d, tmp_path / "o.h5", log=lambda s: None, progress=False)
