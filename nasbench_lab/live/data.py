"""Datasets that ship in packages, generated offline, split by a seed, position-major.

MNIST-1D is generated with the `mnist1d` package's own generator (`make_dataset`, never
`get_dataset`, which may download); its global-RNG use is sandboxed (the global state of
`numpy.random` and `random` is restored afterwards). Generation takes seconds, so it is
cached in memory per process and on disk (directory `$NASBENCH_LAB_CACHE`, default
`~/.cache/nasbench_lab`; set `NASBENCH_LAB_CACHE=off` to disable the disk cache).

Arrays are float32 and position-major: x is (L, N, 1) for MNIST-1D and (8, 8, N, 1) for
digits; y is int64 (N,).
"""
from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.live.protocol import Protocol

DATASETS = ("mnist1d", "digits")


@dataclass(frozen=True)
class Split:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class Data:
    train: Split
    valid: Split
    test: Split
    ndim: int
    in_channels: int
    n_classes: int
    train_index: np.ndarray  # indices into the generated pool (for disjointness checks)
    valid_index: np.ndarray
    test_index: np.ndarray


_MEMORY: dict = {}


def _cache_dir() -> Path | None:
    v = os.environ.get("NASBENCH_LAB_CACHE")
    if v is not None and v.strip().lower() in ("", "0", "off", "none"):
        return None
    return Path(v) if v else Path.home() / ".cache" / "nasbench_lab"


def mnist1d_pool(num_samples: int, seed: int, generation: dict | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """`num_samples` MNIST-1D signals (N, 40) float32 and labels, from mnist1d's generator;
    `generation` overrides the generator's arguments (e.g. `corr_noise_scale`)."""
    generation = dict(sorted((generation or {}).items()))
    key = ("mnist1d", num_samples, seed, tuple(generation.items()))
    if key in _MEMORY:
        return _MEMORY[key]
    d = _cache_dir()
    tag = "".join(f"_{k}{v!r}" for k, v in generation.items())
    path = d / f"mnist1d_n{num_samples}_s{seed}{tag}.npz" if d else None
    if path is not None and path.exists():
        try:
            with np.load(path) as f:
                out = (f["x"], f["y"])
            _MEMORY[key] = out
            return out
        except (OSError, ValueError, KeyError):
            pass
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError as e:  # pragma: no cover
        raise NasbenchError(f"the mnist1d package is needed for MNIST-1D: {e}") from None
    args = get_dataset_args()
    args.num_samples = num_samples
    args.train_split = 1.0
    args.seed = seed
    for k, v in generation.items():
        if not hasattr(args, k):
            raise NasbenchError(f"unknown MNIST-1D generator setting {k!r}")
        setattr(args, k, v)
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        ds = make_dataset(args)  # offline generator; it seeds the global RNGs itself
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    out = (ds["x"].astype(np.float32), ds["y"].astype(np.int64))
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
            with os.fdopen(fd, "wb") as f:
                np.savez(f, x=out[0], y=out[1])
            os.replace(tmp, path)
        except OSError:
            pass
    _MEMORY[key] = out
    return out


def digits_pool() -> tuple[np.ndarray, np.ndarray]:
    if "digits" not in _MEMORY:
        from sklearn.datasets import load_digits

        d = load_digits()
        _MEMORY["digits"] = (d.images.astype(np.float32) / 16.0, d.target.astype(np.int64))
    return _MEMORY["digits"]


def load_data(protocol: Protocol) -> Data:
    """Disjoint train/valid/test splits fixed by `protocol.data_seed`, standardised with
    the training split's mean and std."""
    key = ("data", protocol.dataset, protocol.n_train, protocol.n_valid, protocol.n_test,
           protocol.data_seed, tuple(sorted(protocol.generation.items())))
    if key in _MEMORY:
        return _MEMORY[key]
    n = protocol.n_train + protocol.n_valid + protocol.n_test
    if min(protocol.n_train, protocol.n_valid, protocol.n_test) <= 0:
        raise NasbenchError("n_train, n_valid and n_test must be positive")
    if protocol.dataset == "mnist1d":
        pool_x, pool_y = mnist1d_pool(-(-n // 10) * 10, protocol.data_seed, protocol.generation)
        ndim = 1
    elif protocol.dataset == "digits":
        pool_x, pool_y = digits_pool()
        ndim = 2
        if n > len(pool_y):
            raise NasbenchError(f"digits has {len(pool_y)} images, the protocol asks for {n}")
    else:
        raise NasbenchError(f"unknown dataset {protocol.dataset!r}; known: {', '.join(DATASETS)}")
    perm = np.random.default_rng([protocol.data_seed, 20201]).permutation(len(pool_y))
    idx_tr = np.sort(perm[:protocol.n_train])
    idx_va = np.sort(perm[protocol.n_train:protocol.n_train + protocol.n_valid])
    idx_te = np.sort(perm[protocol.n_train + protocol.n_valid:n])
    mean = float(pool_x[idx_tr].mean())
    std = float(pool_x[idx_tr].std()) or 1.0

    def split(idx) -> Split:
        x = (pool_x[idx] - mean) / std  # (N, L) or (N, H, W)
        x = np.ascontiguousarray(np.moveaxis(x, 0, -1)[..., None], dtype=np.float32)
        return Split(x, pool_y[idx].copy())

    data = Data(split(idx_tr), split(idx_va), split(idx_te), ndim, 1, 10, idx_tr, idx_va, idx_te)
    _MEMORY[key] = data
    return data
