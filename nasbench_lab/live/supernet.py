"""The NAS-Bench-201 weight-sharing supernet: every edge of every cell is a mixed op of all
five ops with its own weights, in numpy with hand-written backward passes.

Macro skeleton as `network.Network` (stem, 3 stages of N cells, two residual reductions,
BN-ReLU, global pooling, linear head), with the same layer names and initial weights for
the parts outside the cells. Inside a cell, edge e (NB201 edge order) computes

    y_e = sum_k w[e, k] * op_k(x_src)      ops: none, skip, conv 1x1, conv 3x3, avg pool 3

with architecture weights `w` [6 x 5] shared by all cells (NB201's search models share
one alpha over all cells). As in NAS-Bench-201's search code (xautodl `SearchCell`), the
cell BNs are affine-free (their gamma/beta stay 1/0 and are not trained) and always
normalise with the batch statistics (track_running_stats=False); the BNs outside the cells
are ordinary. A convolution op is ReLU-Conv-BN; the two convolutions of an edge share one
ReLU (same input, no parameters).

`forward(x, w, active=None, train=True)`: with `active=None` every op of every edge is
computed (DARTS); with `active` = one op index per edge only that op is computed and every
other op k contributes the scalar w[e, k] (zero in value when w is one-hot), which is
exactly GDAS's straight-through formulation (xautodl `forward_gdas`): the gradient of w at
a non-computed op is then sum(dy). `backward(dlogits)` fills the weight gradients and
returns dL/dw [6 x 5] (float64), summed over the cells.

With a one-hot `w` on cell a, the supernet computes `Network(a)` with the corresponding
weights (tests/test_supernet.py checks it).
"""
from __future__ import annotations

import numpy as np

from nasbench_lab.live.layers import BatchNorm, Conv, GlobalAvgPool, Linear, ReLU, AvgPool3
from nasbench_lab.live.network import Init, ReLUConvBN, ResBlock
from nasbench_lab.spaces.nb201 import EDGES, OPS

N_EDGES, N_OPS = len(EDGES), len(OPS)
NONE, SKIP, CONV1, CONV3, POOL = range(5)


def softmax(a: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """Row-wise softmax of a / tau."""
    z = np.asarray(a, dtype=np.float64) / tau
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def softmax_backward(p: np.ndarray, dp: np.ndarray, tau: float = 1.0) -> np.ndarray:
    """Gradient w.r.t. the logits a of p = softmax(a / tau), given dL/dp."""
    return p * (dp - (p * dp).sum(axis=-1, keepdims=True)) / tau


class MixedOp:
    """The five NB201 ops of one edge, each with its own weights (C -> C, stride 1)."""

    def __init__(self, C: int, ndim: int, init: Init, prefix: str) -> None:
        self.relu = ReLU()
        self.c1 = ReLUConvBN(init.conv(f"{prefix}/c1", C, C, 1, ndim), ndim)
        self.c3 = ReLUConvBN(init.conv(f"{prefix}/c3", C, C, 3, ndim), ndim)
        self.pool = AvgPool3(ndim)
        self.convs = {CONV1: self.c1, CONV3: self.c3}

    def layers(self):
        return self.c1.layers + self.c3.layers

    def forward(self, x: np.ndarray, w: np.ndarray, active: int | None = None) -> np.ndarray:
        """sum_k w[k] op_k(x) over the computed ops (all, or only `active`); a
        non-computed op k adds the scalar w[k]. Returns a new array."""
        self.w = w = np.asarray(w, dtype=np.float64)
        comp = range(N_OPS) if active is None else (int(active),)
        self.comp = comp
        self.outs: dict[int, np.ndarray] = {}
        dt = x.dtype.type
        y = np.zeros_like(x)
        if CONV1 in comp or CONV3 in comp:
            r = self.relu.forward(x, True)
            for k in (CONV1, CONV3):
                if k in comp:
                    o = self.convs[k].forward(r, True)  # cell BNs: always batch statistics
                    self.outs[k] = o
                    y += dt(w[k]) * o
        if SKIP in comp:
            self.outs[SKIP] = x
            y += dt(w[SKIP]) * x
        if POOL in comp:
            o = self.pool.forward(x, True)
            self.outs[POOL] = o
            y += dt(w[POOL]) * o
        const = sum(float(w[k]) for k in range(N_OPS) if k not in comp)
        if const:
            y += dt(const)
        return y

    def backward(self, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dL/dx as a new array, dL/dw [5])."""
        w, comp = self.w, self.comp
        dt = dy.dtype.type
        dw = np.zeros(N_OPS)
        total = float(dy.sum()) if len(comp) < N_OPS else 0.0
        for k in range(N_OPS):
            if k not in comp:
                dw[k] = total
            elif k != NONE:
                dw[k] = float(np.vdot(dy, self.outs[k]))
        dx = np.zeros_like(dy)
        if SKIP in comp:
            dx += dt(w[SKIP]) * dy
        if POOL in comp:
            dx += self.pool.backward(dt(w[POOL]) * dy)
        dr = None
        for k in (CONV1, CONV3):
            if k in comp:
                g = self.convs[k].backward(dt(w[k]) * dy)
                dr = g.copy() if dr is None else dr + g
        if dr is not None:
            dx += self.relu.backward(dr)
        return dx, dw


class SuperCell:
    """One NB201 cell with a mixed op on each of its 6 edges."""

    def __init__(self, C: int, ndim: int, init: Init, prefix: str) -> None:
        self.edges = [MixedOp(C, ndim, init, f"{prefix}/e{e}") for e in range(N_EDGES)]
        self.layers = [layer for m in self.edges for layer in m.layers()]

    def forward(self, x, w, active=None):
        nodes = [x]
        for j in range(1, 4):
            s = None
            for e, (to, src) in enumerate(EDGES):
                if to == j:
                    y = self.edges[e].forward(nodes[src], w[e], None if active is None else active[e])
                    s = y if s is None else s + y
            nodes.append(s)
        return nodes[3]

    def backward(self, dy):
        dnodes = [None, None, None, dy]
        dw = np.zeros((N_EDGES, N_OPS))
        for e in reversed(range(N_EDGES)):
            to, src = EDGES[e]
            dx, dw[e] = self.edges[e].backward(dnodes[to])
            dnodes[src] = dx if dnodes[src] is None else dnodes[src] + dx
        return dnodes[0], dw


class Supernet:
    """NB201 supernet; activations (L, B, C) in 1-D, (H, W, B, C) in 2-D (as `Network`)."""

    def __init__(self, C: int = 8, N: int = 1, in_channels: int = 1, n_classes: int = 10,
                 ndim: int = 1, seed: int = 0, dtype=np.float32) -> None:
        init = Init(seed, dtype)
        self.ndim, self.C, self.N, self.dtype = ndim, C, N, np.dtype(dtype)
        self.stem = Conv(init.conv("stem.conv", in_channels, C, 3, ndim), ndim)
        self.stem.need_dx = False
        self.stem_bn = BatchNorm(C, dtype)
        self.blocks: list = []
        c = C
        for s in range(3):
            if s > 0:
                self.blocks.append(ResBlock(c, 2 * c, ndim, init, f"res{s}"))
                c *= 2
            for i in range(N):
                self.blocks.append(SuperCell(c, ndim, init, f"s{s}c{i}"))
        self.cells = [b for b in self.blocks if isinstance(b, SuperCell)]
        self.last_bn = BatchNorm(c, dtype)
        self.last_relu = ReLU()
        self.gap = GlobalAvgPool()
        self.fc = Linear(init.uniform("head.linear.w", (c, n_classes), c),
                         init.uniform("head.linear.b", (n_classes,), c))
        self._flat = None

    # -- parameters
    def trainable_layers(self) -> list:
        """Layers whose parameters are trained: everything except the affine-free cell BNs."""
        out = [self.stem, self.stem_bn]
        for b in self.blocks:
            if isinstance(b, SuperCell):
                out += [layer for layer in b.layers if not isinstance(layer, BatchNorm)]
            else:
                out += b.layers
        return out + [self.last_bn, self.fc]

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(layer.params[k], layer.grads[k]) for layer in self.trainable_layers()
                for k in layer.params]

    def flatten(self) -> tuple[np.ndarray, np.ndarray]:
        """Move the trainable parameters and their gradients into one flat vector each (the
        layers keep views); idempotent."""
        if self._flat is None:
            pairs = [(layer, k) for layer in self.trainable_layers() for k in layer.params]
            total = sum(m.params[k].size for m, k in pairs)
            P, G = np.empty(total, self.dtype), np.zeros(total, self.dtype)
            i = 0
            for m, k in pairs:
                n, shape = m.params[k].size, m.params[k].shape
                P[i:i + n] = m.params[k].ravel()
                m.params[k] = P[i:i + n].reshape(shape)
                m.grads[k] = G[i:i + n].reshape(shape)
                i += n
            self._flat = (P, G)
        return self._flat

    def n_params(self) -> int:
        return int(sum(p.size for p, _ in self.parameters()))

    # -- passes
    def forward(self, x: np.ndarray, w: np.ndarray, active=None, train: bool = True) -> np.ndarray:
        """Logits for input x under op weights w [6 x 5]; `active` (6 op indices) computes
        one op per edge (see the module docstring). `train` sets the BNs outside the cells."""
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (N_EDGES, N_OPS):
            raise ValueError(f"op weights must be {N_EDGES} x {N_OPS}, got {w.shape}")
        h = self.stem_bn.forward(self.stem.forward(x, train), train)
        for b in self.blocks:
            h = b.forward(h, w, active) if isinstance(b, SuperCell) else b.forward(h, train)
        h = self.last_relu.forward(self.last_bn.forward(h, train), train)
        return self.fc.forward(self.gap.forward(h, train), train)

    def backward(self, dlogits: np.ndarray) -> np.ndarray:
        """Fill the parameter gradients; return dL/dw [6 x 5] (float64)."""
        g = self.gap.backward(self.fc.backward(dlogits))
        g = self.last_bn.backward(self.last_relu.backward(g))
        dw = np.zeros((N_EDGES, N_OPS))
        for b in reversed(self.blocks):
            if isinstance(b, SuperCell):
                g, d = b.backward(g)
                dw += d
            else:
                g = b.backward(g)
        self.stem.backward(self.stem_bn.backward(g))
        return dw

    def load_into(self, net, arch) -> None:
        """Copy this supernet's weights into `net` (a `network.Network` of cell `arch` with
        the same C, N, ndim): the macro layers one to one, each convolution instance of a
        compiled cell from the edge whose canonical label it carries."""
        from nasbench_lab.spaces import NB201

        choices = NB201.check(arch).choices
        labels = NB201.canonical_program(NB201.check(arch))[3]
        by_label = {lab: e for e, lab in labels.items()}
        pairs = [(self.stem, net.stem), (self.stem_bn, net.stem_bn), (self.last_bn, net.last_bn),
                 (self.fc, net.fc)]
        for mine, theirs in zip(self.blocks, net.blocks):
            if isinstance(mine, SuperCell):
                for ins in theirs.prog:
                    if ins[0] == "rcb":
                        e = by_label[ins[-1]]
                        pairs.append((mine.edges[e].convs[choices[e]].conv, theirs.ops[ins[1]].conv))
            else:
                pairs += list(zip(mine.layers, theirs.layers))
        for a, b in pairs:
            for k in a.params:
                b.params[k][...] = a.params[k]
            if isinstance(a, BatchNorm):
                b.running[...] = a.running


def one_hot(choices, n_ops: int = N_OPS) -> np.ndarray:
    w = np.zeros((len(choices), n_ops))
    w[np.arange(len(choices)), np.asarray(choices, dtype=int)] = 1.0
    return w


def build_supernet(protocol, data, seed: int, dtype=np.float32) -> Supernet:
    """A supernet with the protocol's width and depth for `data` (a `live.data.Data`)."""
    return Supernet(C=protocol.channels, N=protocol.cells_per_stage, in_channels=data.in_channels,
                    n_classes=data.n_classes, ndim=data.ndim, seed=seed, dtype=dtype)
