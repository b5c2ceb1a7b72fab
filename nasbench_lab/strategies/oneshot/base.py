"""What every one-shot method shares: the data halves, the optimisers, the clock, the result.

Data (as DARTS and NAS-Bench-201's search scripts do): the protocol's training split is
cut into two fixed halves (a permutation by `protocol.data_seed`, the same for every search
seed): the first trains the supernet weights, the second the architecture (and ranks
candidates). The protocol's valid and test splits are never touched by a search; the
derived cell is scored by a table lookup.

Optimisers (NAS-Bench-201's configs/nas-benchmark/algos/*.config and search scripts):
weights by SGD, Nesterov momentum 0.9, weight decay 5e-4, batch 64, lr 0.025 cosine-annealed
per step to 0.001, gradients clipped to norm 5 where the published script clips; the
architecture by Adam(lr 3e-4, betas (0.5, 0.999), weight decay 1e-3), alpha initialised as
1e-3 * N(0, 1). Weight decay and momentum apply to every weight at every step, also to ops
not sampled in that step (PyTorch 1.x SGD with zeroed, not absent, gradients).

Clock: the search cost is the CPU time (`time.process_time`, BLAS on one thread) of the
supernet training and of the candidate selection, the same unit as a table's `train_time`
(seconds of one core of this trainer). Recording the per-epoch trajectory is not charged.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Callable, ClassVar

import numpy as np

from nasbench_lab import NasbenchError
from nasbench_lab.live.data import load_data
from nasbench_lab.live.layers import softmax_cross_entropy
from nasbench_lab.live.protocol import BUILTIN_PROTOCOL, Protocol
from nasbench_lab.live.supernet import N_EDGES, N_OPS, build_supernet, one_hot, softmax
from nasbench_lab.live.trainer import SGD
from nasbench_lab.spaces import NB201, Arch

PARAMETER_FREE = (0, 1, 4)  # none, skip_connect, avg_pool_3x3


@dataclass
class OneShotResult:
    """One finished search. `alpha` holds softmax(alpha) [6 x 5] before training and after
    every epoch (empty for methods without architecture parameters); `derived` the cell the
    method would report after every epoch (argmax of alpha; for selection methods only the
    final cell); `seconds` the cumulative charged CPU seconds after every epoch."""

    method: str
    seed: int
    params: dict
    protocol: dict
    arch: str
    search_seconds: float
    train_seconds: float
    select_seconds: float
    seconds: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    alpha: list = field(default_factory=list)
    derived: list = field(default_factory=list)
    selection: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "OneShotResult":
        return cls(**d)


class Adam:
    """torch.optim.Adam with L2 weight decay (added to the gradient), on one array."""

    def __init__(self, p: np.ndarray, lr: float, betas=(0.5, 0.999), weight_decay: float = 0.0,
                 eps: float = 1e-8) -> None:
        self.p, self.lr, self.b1, self.b2 = p, lr, betas[0], betas[1]
        self.wd, self.eps, self.t = weight_decay, eps, 0
        self.m, self.v = np.zeros_like(p), np.zeros_like(p)

    def step(self, g: np.ndarray) -> None:
        self.t += 1
        g = g + self.wd * self.p
        self.m = self.b1 * self.m + (1 - self.b1) * g
        self.v = self.b2 * self.v + (1 - self.b2) * g * g
        denom = np.sqrt(self.v) / np.sqrt(1 - self.b2 ** self.t) + self.eps
        self.p -= self.lr / (1 - self.b1 ** self.t) * self.m / denom


def cosine(lr: float, eta_min: float, step: int, total: int) -> float:
    return eta_min + 0.5 * (lr - eta_min) * (1.0 + np.cos(np.pi * step / total))


def clip_(g: np.ndarray, max_norm: float | None) -> None:
    if max_norm:
        n = float(np.linalg.norm(g))
        if n > max_norm:
            g *= max_norm / (n + 1e-6)


def derive_argmax(alpha: np.ndarray, exclude_none: bool = False) -> tuple[int, ...]:
    """The cell of the per-edge argmax of alpha (NAS-Bench-201's `genotype()` takes the argmax
    over all five ops, `none` included; `exclude_none` is the original DARTS rule)."""
    a = np.array(alpha, dtype=np.float64)
    if exclude_none:
        a[:, 0] = -np.inf
    return tuple(int(i) for i in a.argmax(axis=1))


def param_free_share(choices) -> float:
    return float(np.mean([c in PARAMETER_FREE for c in choices]))


class OneShotMethod:
    """A seeded one-shot search on the live backend. Subclasses set `name`, `defaults`
    (documented hyperparameters) and implement `train_epoch` and `final`."""

    name: ClassVar[str] = ""
    defaults: ClassVar[dict] = {}
    has_alpha: ClassVar[bool] = True

    @classmethod
    def check_params(cls, protocol: Protocol, params: dict) -> dict:
        """The full parameters (defaults overridden by `params`), or a one-line NasbenchError:
        what __init__ checks, without loading data (the CLI checks before writing its folder)."""
        unknown = sorted(set(params) - set(cls.defaults))
        if unknown:
            raise NasbenchError(f"{cls.name} has no parameter {', '.join(unknown)}; "
                                f"parameters: {', '.join(sorted(cls.defaults))}")
        p = {**cls.defaults, **params}
        if int(p["epochs"]) <= 0 or int(p["batch_size"]) <= 0:
            raise NasbenchError(f"{cls.name}: epochs and batch_size must be positive")
        if int(p["batch_size"]) > protocol.n_train // 2:
            raise NasbenchError(f"{cls.name}: batch size {int(p['batch_size'])} exceeds half of the "
                                f"{protocol.n_train} training samples")
        return p

    def __init__(self, protocol: Protocol = BUILTIN_PROTOCOL, seed: int = 0, **params) -> None:
        self.params = self.check_params(protocol, params)
        p = self.params
        self.protocol, self.seed = protocol, int(seed)
        self.rng = np.random.default_rng([self.seed, 0x05E5])
        data = load_data(protocol)
        perm = np.random.default_rng([protocol.data_seed, 0xDA475]).permutation(len(data.train))
        half = len(perm) // 2
        x, y = data.train.x, data.train.y
        self.xw, self.yw = np.ascontiguousarray(x[..., perm[:half], :]), y[perm[:half]]
        self.xa, self.ya = np.ascontiguousarray(x[..., perm[half:], :]), y[perm[half:]]
        self.bs = int(p["batch_size"])
        self.steps = min(half, len(perm) - half) // self.bs  # >= 1: check_params refused larger batches
        self.net = build_supernet(protocol, data, self.seed)
        self.P, self.G = self.net.flatten()
        self.alpha = 1e-3 * self.rng.standard_normal((N_EDGES, N_OPS))
        self.w_opt = SGD(self.P, self.G, p.get("momentum", 0.9), p.get("weight_decay", 5e-4))
        self.a_opt = Adam(self.alpha, p.get("arch_lr", 3e-4), (0.5, 0.999),
                          p.get("arch_weight_decay", 1e-3)) if self.has_alpha else None
        self.total_steps = int(p["epochs"]) * self.steps
        self.step_i = 0

    # -- helpers for subclasses
    def lr(self) -> float:
        p = self.params
        return cosine(p["lr"], p["eta_min"], self.step_i, self.total_steps)

    def loss_grad(self, x, y, w, active=None):
        """Forward and backward on (x, y); fills the weight gradients (zeroed first when a
        single path leaves some untouched); returns (loss, dL/dw, n correct)."""
        if active is not None:
            self.G.fill(0)
        logits = self.net.forward(x, w, active, True)
        loss, g, correct = softmax_cross_entropy(logits, y)
        return loss, self.net.backward(g), int(correct.sum())

    def weight_step(self, clip: float | None) -> None:
        clip_(self.G, clip)
        self.w_opt.step(self.lr())

    def batches(self):
        """(weight batch, arch batch) pairs of one epoch, each half in its own fresh order."""
        pw, pa = self.rng.permutation(len(self.yw)), self.rng.permutation(len(self.ya))
        for s in range(self.steps):
            iw, ia = pw[s * self.bs:(s + 1) * self.bs], pa[s * self.bs:(s + 1) * self.bs]
            yield (self.xw[..., iw, :], self.yw[iw]), (self.xa[..., ia, :], self.ya[ia])

    def accuracy(self, choices, x, y, batch: int) -> float:
        """Supernet accuracy (%) of one cell (one path per edge) on (x, y), eval mode."""
        w, correct = one_hot(choices), 0
        for i in range(0, len(y), batch):
            logits = self.net.forward(np.ascontiguousarray(x[..., i:i + batch, :]), w, choices, False)
            correct += int((logits.argmax(1) == y[i:i + batch]).sum())
        return 100.0 * correct / len(y)

    def train_epoch(self, epoch: int) -> tuple[float, float]:
        """One epoch of supernet (and alpha) training: `train_step` on every (weight batch,
        alpha batch); returns (mean loss, accuracy %)."""
        loss_sum = correct = n = 0
        for w_batch, a_batch in self.batches():
            loss, c = self.train_step(w_batch, a_batch, epoch)
            self.step_i += 1
            loss_sum += loss
            correct += c
            n += len(w_batch[1])
        return loss_sum / self.steps, 100.0 * correct / n

    # -- to implement
    def train_step(self, w_batch, a_batch, epoch: int) -> tuple[float, int]:
        """One step of the method; returns (training loss, correct predictions) of `w_batch`."""
        raise NotImplementedError

    def final(self) -> tuple[tuple[int, ...], dict]:
        """The derived cell and what the selection measured (charged to the clock)."""
        return derive_argmax(self.alpha, self.params.get("exclude_none", False)), {}

    def epoch_cell(self) -> tuple[int, ...] | None:
        return derive_argmax(self.alpha, self.params.get("exclude_none", False)) \
            if self.has_alpha else None

    # -- the search
    def run(self, progress: Callable[[int, dict], None] | None = None) -> OneShotResult:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            return self._run(progress)

    def _run(self, progress) -> OneShotResult:
        res = OneShotResult(method=self.name, seed=self.seed, params=dict(self.params),
                            protocol=self.protocol.to_dict(), arch="", search_seconds=0.0,
                            train_seconds=0.0, select_seconds=0.0)
        if self.has_alpha:
            res.alpha.append(softmax(self.alpha).tolist())
        spent = 0.0
        for e in range(int(self.params["epochs"])):
            t = time.process_time()
            loss, acc = self.train_epoch(e)
            spent += time.process_time() - t
            if not np.isfinite(loss):
                raise NasbenchError(f"{self.name} diverged in epoch {e + 1} (non-finite loss)")
            res.seconds.append(spent)
            res.train_loss.append(loss)
            res.train_acc.append(acc)
            if self.has_alpha:
                res.alpha.append(softmax(self.alpha).tolist())
                res.derived.append(NB201.to_string(Arch("nb201", self.epoch_cell())))
            if progress is not None:
                progress(e, {"loss": loss, "acc": acc, "seconds": spent,
                             "cell": res.derived[-1] if res.derived else None})
        t = time.process_time()
        choices, info = self.final()
        sel = time.process_time() - t
        res.arch = NB201.to_string(Arch("nb201", tuple(choices)))
        res.train_seconds, res.select_seconds = spent, sel
        res.search_seconds = spent + sel
        res.selection = info
        if not self.has_alpha:
            res.derived.append(res.arch)
        return res
