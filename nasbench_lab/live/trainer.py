"""Train an NB201 architecture for real: SGD with Nesterov momentum, weight decay, cosine
learning rate to zero, fixed batch size; per-epoch train/valid/test metrics and times.

Deterministic for a given (arch, protocol, seed) in any process on a given machine:
weights come from (seed, position, sub-expression), the batch order from the seed, the
data from `protocol.data_seed`, and BLAS runs on one thread.

`train_seeds` trains several seeds of one cell in one seed-batched pass (live/seedbatch.py)
with the same per-seed results bit for bit; its times (train_time, valid_time, test_time:
wall seconds of one thread, i.e. CPU seconds) are the pass's divided by the number of seeds.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.live.data import Data, load_data
from nasbench_lab.live.layers import softmax_cross_entropy
from nasbench_lab.live.network import Network
from nasbench_lab.live.protocol import BUILTIN_PROTOCOL, Protocol
from nasbench_lab.spaces import NB201, Arch

#: Training and evaluation costs are CPU seconds of the training thread, not wall time: a
#: table built on a busy machine then records what the training itself costs (the simulated
#: clock of every search uses these). Latency stays wall time (it is a latency).
cpu_clock = time.thread_time

METRICS = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc",
           "train_time", "valid_time", "test_time")


@dataclass
class TrainingResult:
    """Per-epoch curves (arrays of length `epochs`; accuracies in percent, times in
    seconds) and per-architecture costs. `flops` counts multiply-accumulates of the
    convolutions and the classifier for one sample (NAS-Bench-201's convention)."""

    arch: str
    canonical_key: str
    seed: int
    protocol: dict
    train_loss: np.ndarray
    train_acc: np.ndarray
    valid_loss: np.ndarray
    valid_acc: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    train_time: np.ndarray
    valid_time: np.ndarray
    test_time: np.ndarray
    params: int
    flops: int
    latency_ms: float
    extra: dict = field(default_factory=dict)

    @property
    def eval_time(self) -> np.ndarray:
        """(epochs, 2): seconds of the valid pass and of the test pass, per epoch."""
        return np.stack([self.valid_time, self.test_time], axis=1)

    @property
    def epochs(self) -> int:
        return int(self.train_loss.shape[0])

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("arch", "canonical_key", "seed", "protocol",
                                           "params", "flops", "latency_ms")}
        d.update({k: [float(v) for v in getattr(self, k)] for k in METRICS})
        return d


class SGD:
    """PyTorch's SGD(momentum, nesterov=True, weight_decay) on one flat parameter vector."""

    def __init__(self, flat_params: np.ndarray, flat_grads: np.ndarray, momentum: float,
                 weight_decay: float) -> None:
        self.p, self.g = flat_params, flat_grads
        self.buf = np.zeros_like(flat_params)
        self.d = np.empty_like(flat_params)
        self.momentum, self.wd = momentum, weight_decay
        self.first = True

    def step(self, lr: float) -> None:
        d, buf = self.d, self.buf
        np.multiply(self.p, self.wd, out=d)
        d += self.g                              # d = g + wd p
        if self.first:
            np.copyto(buf, d)
            self.first = False
        else:
            buf *= self.momentum
            buf += d                             # buf = m buf + d
        d += self.momentum * buf                 # nesterov: d + m buf
        d *= lr
        self.p -= d


def flatten_parameters(net: Network) -> tuple[np.ndarray, np.ndarray]:
    """Move every parameter and gradient of `net` into one flat vector each (views)."""
    pairs = []
    for m in [net.stem, net.stem_bn, net.last_bn, net.fc] + \
            [layer for b in net.blocks for layer in b.layers]:
        for k in m.params:
            pairs.append((m, k))
    total = sum(m.params[k].size for m, k in pairs)
    dtype = pairs[0][0].params[pairs[0][1]].dtype
    P, G = np.empty(total, dtype), np.zeros(total, dtype)
    i = 0
    for m, k in pairs:
        n = m.params[k].size
        shape = m.params[k].shape
        P[i:i + n] = m.params[k].ravel()
        m.params[k] = P[i:i + n].reshape(shape)
        m.grads[k] = G[i:i + n].reshape(shape)
        i += n
    return P, G


def cosine_lr(lr: float, step: int, total: int) -> float:
    return 0.5 * lr * (1.0 + np.cos(np.pi * step / total))


def build_network(arch: Arch, protocol: Protocol, seed: int, data: Data | None = None,
                  dtype=np.float32) -> Network:
    data = data or load_data(protocol)
    return Network(arch, C=protocol.channels, N=protocol.cells_per_stage,
                   in_channels=data.in_channels, n_classes=data.n_classes, ndim=data.ndim,
                   seed=seed, dtype=dtype)


def eval_chunks(x: np.ndarray, y: np.ndarray, batch: int) -> list:
    """Contiguous (x, y) chunks of at most `batch` samples (x position-major)."""
    return [(np.ascontiguousarray(x[..., i:i + batch, :]), y[i:i + batch])
            for i in range(0, y.shape[0], batch)]


def evaluate(net: Network, chunks: list) -> tuple[float, float]:
    """Mean loss and accuracy (%) in eval mode over `eval_chunks(...)`."""
    n = sum(yb.shape[0] for _, yb in chunks)
    loss_sum, correct = 0.0, 0
    for xb, yb in chunks:
        logits = net.forward(xb, train=False)
        loss, _, c = softmax_cross_entropy(logits, yb)
        loss_sum += loss * c.shape[0]
        correct += int(c.sum())
    return loss_sum / n, 100.0 * correct / n


def measure_latency(net: Network, x: np.ndarray, batch: int, repeats: int) -> float:
    xb = np.ascontiguousarray(x[..., :batch, :])
    net.forward(xb, train=False)
    times = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        net.forward(xb, train=False)
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1e3)


def _as_arch(arch) -> Arch:
    if isinstance(arch, Arch):
        return NB201.check(arch)
    return NB201.from_string(arch)


def train_architecture(arch: Arch | str, protocol: Protocol = BUILTIN_PROTOCOL, seed: int = 0,
                       progress: Callable[[int, dict], None] | None = None,
                       threads: int | None = 1) -> TrainingResult:
    """Train one architecture under `protocol` with training seed `seed`.

    `progress(epoch, row)` is called after every epoch with that epoch's metrics.
    `threads` limits BLAS threads for the duration (None: leave as is).
    """
    arch = _as_arch(arch)
    if threads is None:
        return _train(arch, protocol, int(seed), progress)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return _train(arch, protocol, int(seed), progress)


def _train(arch: Arch, protocol: Protocol, seed: int, progress) -> TrainingResult:
    if protocol.epochs <= 0 or protocol.batch_size <= 0:
        raise NasbenchError("epochs and batch_size must be positive")
    data = load_data(protocol)
    if len(data.train) < protocol.batch_size:
        raise NasbenchError(f"batch size {protocol.batch_size} exceeds the {len(data.train)} "
                            "training samples")
    net = build_network(arch, protocol, seed, data)
    P, G = flatten_parameters(net)
    opt = SGD(P, G, protocol.momentum, protocol.weight_decay)
    rng = np.random.default_rng([seed, 0x5EED])
    E, bs = protocol.epochs, protocol.batch_size
    spe = len(data.train) // bs
    total = E * spe
    xtr, ytr = data.train.x, data.train.y
    xb = np.empty(xtr.shape[:-2] + (bs, xtr.shape[-1]), np.float32)
    out = {k: np.zeros(E) for k in METRICS}
    valid_chunks = eval_chunks(data.valid.x, data.valid.y, protocol.eval_batch_size)
    test_chunks = eval_chunks(data.test.x, data.test.y, protocol.eval_batch_size)
    step = 0
    for e in range(E):
        t0 = cpu_clock()
        perm = rng.permutation(len(ytr))
        loss_sum, correct = 0.0, 0
        for b in range(spe):
            idx = perm[b * bs:(b + 1) * bs]
            np.take(xtr, idx, axis=-2, out=xb)
            yb = ytr[idx]
            logits = net.forward(xb, train=True)
            loss, dlogits, c = softmax_cross_entropy(logits, yb)
            net.backward(dlogits)
            opt.step(cosine_lr(protocol.lr, step, total))
            step += 1
            loss_sum += loss
            correct += int(c.sum())
        t1 = cpu_clock()
        out["train_time"][e] = t1 - t0
        out["train_loss"][e] = loss_sum / spe
        out["train_acc"][e] = 100.0 * correct / (spe * bs)
        for name, chunks in (("valid", valid_chunks), ("test", test_chunks)):
            t = cpu_clock()
            out[f"{name}_loss"][e], out[f"{name}_acc"][e] = evaluate(net, chunks)
            out[f"{name}_time"][e] = cpu_clock() - t
        if progress is not None:
            progress(e, {k: float(v[e]) for k, v in out.items()})
    if not np.all(np.isfinite(out["train_loss"])):
        raise NasbenchError(f"training diverged for {NB201.to_string(arch)} (non-finite loss)")
    spatial = data.train.x.shape[:-2]
    latency = measure_latency(net, data.test.x, protocol.latency_batch_size,
                              protocol.latency_repeats)
    return TrainingResult(
        arch=NB201.to_string(arch), canonical_key=NB201.canonical_key(arch), seed=seed,
        protocol=protocol.to_dict(), **out, params=net.n_params(), flops=net.macs(spatial),
        latency_ms=latency)


def train_seeds(arch: Arch | str, protocol: Protocol = BUILTIN_PROTOCOL, seeds=(0, 1, 2),
                threads: int | None = 1) -> list[TrainingResult]:
    """Train one architecture with several seeds in one vectorised pass; one result per
    seed, in the order of `seeds`.

    Each seed keeps its own initial weights and its own batch order (from its own rng, as
    `train_architecture`), and runs the same arithmetic on the same numbers, so every
    result equals `train_architecture(arch, protocol, seed)` bit for bit in its losses
    and accuracies, whichever seeds share the pass (`live/seedbatch.py`). Timing: a
    pass's per-epoch train, valid and test seconds are divided by the number of seeds,
    so each seed is charged its share of the pass; latency is measured per seed on a
    single-seed network (its weights do not change its cost). 2-D protocols and a single
    seed use `train_architecture` seed by seed.
    """
    arch = _as_arch(arch)
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise NasbenchError(f"seeds must be distinct integers, got {seeds}")
    if threads is None:
        return _train_seeds(arch, protocol, seeds)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return _train_seeds(arch, protocol, seeds)


def _train_seeds(arch: Arch, protocol: Protocol, seeds: list[int]) -> list[TrainingResult]:
    from nasbench_lab.live.seedbatch import SeedNetwork, seed_cross_entropy

    if protocol.epochs <= 0 or protocol.batch_size <= 0:
        raise NasbenchError("epochs and batch_size must be positive")
    data = load_data(protocol)
    if data.ndim != 1 or len(seeds) == 1:
        return [_train(arch, protocol, s, None) for s in seeds]
    if len(data.train) < protocol.batch_size:
        raise NasbenchError(f"batch size {protocol.batch_size} exceeds the {len(data.train)} "
                            "training samples")
    S, cin = len(seeds), data.in_channels
    net = SeedNetwork(arch, seeds, C=protocol.channels, N=protocol.cells_per_stage,
                      in_channels=cin, n_classes=data.n_classes, ndim=1)
    P, G = flatten_parameters(net)
    opt = SGD(P, G, protocol.momentum, protocol.weight_decay)
    rngs = [np.random.default_rng([s, 0x5EED]) for s in seeds]
    E, bs = protocol.epochs, protocol.batch_size
    spe = len(data.train) // bs
    total = E * spe
    xtr, ytr = data.train.x, data.train.y
    xb = np.empty((S,) + xtr.shape[:-2] + (bs, cin), np.float32)
    yb = np.empty((S, bs), ytr.dtype)
    out = [{k: np.zeros(E) for k in METRICS} for _ in seeds]
    evals = [[(np.ascontiguousarray(np.broadcast_to(xc, (S,) + xc.shape)), yc)
              for xc, yc in eval_chunks(part.x, part.y, protocol.eval_batch_size)]
             for part in (data.valid, data.test)]
    step = 0
    for e in range(E):
        t0 = cpu_clock()
        perms = [r.permutation(len(ytr)) for r in rngs]
        loss_sum, correct = [0.0] * S, [0] * S
        for b in range(spe):
            for k in range(S):
                idx = perms[k][b * bs:(b + 1) * bs]
                np.take(xtr, idx, axis=-2, out=xb[k])
                yb[k] = ytr[idx]
            logits = net.forward(xb, train=True)
            losses, dlogits, c = seed_cross_entropy(logits, yb)
            net.backward(dlogits)
            opt.step(cosine_lr(protocol.lr, step, total))
            step += 1
            hits = c.sum(axis=1)
            for k in range(S):
                loss_sum[k] += losses[k]
                correct[k] += int(hits[k])
        t1 = cpu_clock()
        for k in range(S):
            out[k]["train_time"][e] = (t1 - t0) / S
            out[k]["train_loss"][e] = loss_sum[k] / spe
            out[k]["train_acc"][e] = 100.0 * correct[k] / (spe * bs)
        for name, chunks in zip(("valid", "test"), evals):
            t = cpu_clock()
            n = sum(yc.shape[0] for _, yc in chunks)
            ls, cs = [0.0] * S, [0] * S
            for xc, yc in chunks:
                losses, _, c = seed_cross_entropy(net.forward(xc, train=False), yc)
                hits = c.sum(axis=1)
                for k in range(S):
                    ls[k] += losses[k] * yc.shape[0]
                    cs[k] += int(hits[k])
            dt = (cpu_clock() - t) / S
            for k in range(S):
                out[k][f"{name}_loss"][e], out[k][f"{name}_acc"][e] = ls[k] / n, 100.0 * cs[k] / n
                out[k][f"{name}_time"][e] = dt
    results = []
    spatial = data.train.x.shape[:-2]
    for k, seed in enumerate(seeds):
        if not np.all(np.isfinite(out[k]["train_loss"])):
            raise NasbenchError(f"training diverged for {NB201.to_string(arch)} with seed {seed} "
                                "(non-finite loss)")
        single = build_network(arch, protocol, seed, data)
        latency = measure_latency(single, data.test.x, protocol.latency_batch_size,
                                  protocol.latency_repeats)
        results.append(TrainingResult(
            arch=NB201.to_string(arch), canonical_key=NB201.canonical_key(arch), seed=seed,
            protocol=protocol.to_dict(), **out[k], params=net.n_params(),
            flops=net.macs(spatial), latency_ms=latency))
    return results


def _job(arch, protocol, seed):
    return train_architecture(arch, protocol, seed)


def train_many(jobs: Iterable[tuple[Arch | str, int]], protocol: Protocol = BUILTIN_PROTOCOL,
               n_jobs: int = 1) -> list[TrainingResult]:
    """Train many (arch, seed) pairs, one single-threaded training per process."""
    jobs = list(jobs)
    if n_jobs == 1:
        return [train_architecture(a, protocol, s) for a, s in jobs]
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs)(delayed(_job)(a, protocol, s) for a, s in jobs)
