"""NAS-Bench-201 networks built from a cell, 1-D (MNIST-1D) and 2-D (digits).

Macro skeleton (NAS-Bench-201's): stem conv 3 + BN; stage 1 with N cells at C channels;
residual reduction block (ReLU-Conv3/2-BN, ReLU-Conv3-BN; shortcut AvgPool 2 + Conv 1x1)
to 2C; stage 2 with N cells; reduction to 4C; stage 3 with N cells; BN-ReLU; global
average pooling; linear classifier.

The cell is compiled from its canonical program (`NB201.canonical_program`, the form
behind `NB201.canonical_key`): `skip_connect` is the identity, `none` edges, ops applied
to a constant-zero node and ops that do not reach the output are dropped, sums are
multisets, every convolution edge is its own instance with its own weights (as in
NAS-Bench-201), and pools of the same input, having no weights, are computed once.
Deviation from NAS-Bench-201, kept: its InferCell still computes a convolution of a zero
node, whose BN then adds a trainable per-channel constant (beta); keeping those would give
5,450 canonical keys instead of 5,260 and moved final test accuracy by +0.22 +- 0.49 points
(NB201 minus ours, 6 affected cells x 3 seeds; `python analysis/zero_input_convs.py`). Two
cells with the same canonical key therefore compile to the same program; initial weights
are drawn from (seed, cell position, instance label), so they compute the same function,
in train and eval mode, and train to the same result. A cell
whose output is disconnected outputs zeros (nothing is instantiated), so the network is
input independent and predicts at chance.
"""
from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np

from nasbench_lab.live.layers import (AvgPool2, AvgPool3, BatchNorm, Conv, GlobalAvgPool,
                                      Layer, Linear, ReLU)
from nasbench_lab.spaces import NB201
from nasbench_lab.spaces.nb201 import DISCONNECTED, canonical_program

# ----------------------------------------------------------------------- cell compiler
def compile_cell(choices) -> list[tuple]:
    """Straight-line program of the canonical cell (`NB201.canonical_program`).

    Value 0 is the cell input. Instructions, in topological order:
    ('relu', out, src), ('rcb', out, src_relu, k, label), ('pool', out, src, label),
    ('sum', out, ((coef, src), ...)), ('zero', out). Each op instance of the canonical
    program is one instruction (its label names its weights); a ReLU is shared by the
    convolutions that read the same value. The last instruction's `out` is the cell
    output (a program may be empty: the output is the input).
    """
    key, instances, out_labels, _ = canonical_program(tuple(int(c) for c in choices))
    if key == DISCONNECTED:
        return [("zero", 1)]
    defs = {label: (op, inputs) for label, op, inputs in instances}
    prog: list[tuple] = []
    memo_sum: dict[tuple, int] = {("x",): 0}
    memo_inst: dict[str, int] = {"x": 0}
    memo_relu: dict[int, int] = {}
    n = [1]

    def new() -> int:
        n[0] += 1
        return n[0] - 1

    def emit_inst(label: str) -> int:
        if label in memo_inst:
            return memo_inst[label]
        op, inputs = defs[label]
        src = emit_sum(inputs)
        if op == "ap":
            v = new()
            prog.append(("pool", v, src, label))
        else:
            if src not in memo_relu:
                r = new()
                prog.append(("relu", r, src))
                memo_relu[src] = r
            v = new()
            prog.append(("rcb", v, memo_relu[src], 1 if op == "c1" else 3, label))
        memo_inst[label] = v
        return v

    def emit_sum(atoms: tuple) -> int:
        if atoms in memo_sum:
            return memo_sum[atoms]
        counts = Counter(atoms)
        if len(counts) == 1 and next(iter(counts.values())) == 1:
            v = emit_inst(atoms[0])
        else:
            parts = tuple((c, emit_inst(a)) for a, c in sorted(counts.items()))
            v = new()
            prog.append(("sum", v, parts))
        memo_sum[atoms] = v
        return v

    emit_sum(tuple(out_labels))
    return prog


# ----------------------------------------------------------------------- initialisation
def _stable_hash(text: str) -> list[int]:
    h = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return [int.from_bytes(h[:4], "little"), int.from_bytes(h[4:], "little")]


class Init:
    """Deterministic weights from (seed, name): PyTorch's default uniform(+-1/sqrt(fan_in))."""

    def __init__(self, seed: int, dtype) -> None:
        self.seed, self.dtype = int(seed), np.dtype(dtype)

    def uniform(self, name: str, shape: tuple, fan_in: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed] + _stable_hash(name))
        bound = 1.0 / np.sqrt(fan_in)
        return rng.uniform(-bound, bound, size=shape).astype(self.dtype)

    def conv(self, name: str, cin: int, cout: int, k: int, ndim: int) -> np.ndarray:
        taps = k ** ndim
        return self.uniform(name, (taps, cin, cout), cin * taps)


class Kit:
    """The layer constructors a network is built from: today's single-seed layers. The
    seed-batched network (`live/seedbatch.py`) passes its own kit (stacked weights, a
    leading seed axis) through the same module classes."""

    def init(self, seed, dtype):
        return Init(seed, dtype)

    def conv(self, w: np.ndarray, ndim: int, stride: int = 1) -> Layer:
        return Conv(w, ndim, stride)

    def bn(self, channels: int, dtype) -> Layer:
        return BatchNorm(channels, dtype)

    def linear(self, w: np.ndarray, b: np.ndarray) -> Layer:
        return Linear(w, b)

    def pool3(self, ndim: int) -> Layer:
        return AvgPool3(ndim)

    def pool2(self, ndim: int) -> Layer:
        return AvgPool2(ndim)

    def gap(self) -> Layer:
        return GlobalAvgPool()


SINGLE = Kit()


# ----------------------------------------------------------------------- modules
class Module:
    layers: list[Layer]

    def parameters(self):
        for layer in self.layers:
            for k in layer.params:
                yield layer.params[k], layer.grads[k]


class ReLUConvBN(Module):
    def __init__(self, w: np.ndarray, ndim: int, stride: int = 1, kit: Kit = SINGLE) -> None:
        self.conv = kit.conv(w, ndim, stride)
        self.bn = kit.bn(w.shape[-1], w.dtype)
        self.layers = [self.conv, self.bn]

    def forward(self, x, train):  # x is already ReLU-ed (the ReLU is shared per input)
        return self.bn.forward(self.conv.forward(x, train), train)

    def backward(self, dy):
        return self.conv.backward(self.bn.backward(dy))


def _accumulate(grads: dict, owned: set, v: int, g: np.ndarray, scratch: Layer) -> None:
    """grads[v] += g; the first gradient is kept by reference (it may be shared), a
    second one is summed into a scratch buffer owned by value v."""
    old = grads.get(v)
    if old is None:
        grads[v] = g
    elif v in owned:
        old += g
    else:
        buf = scratch.buffer(f"g{v}", g.shape, g.dtype)
        np.add(old, g, out=buf)
        grads[v] = buf
        owned.add(v)


class Cell(Module):
    def __init__(self, choices, C: int, ndim: int, init: Init, prefix: str,
                 kit: Kit = SINGLE) -> None:
        self.prog = compile_cell(choices)
        self.ndim = ndim
        self.ops: dict[int, object] = {}
        self.layers = []
        self.sum_layer = Layer()
        for ins in self.prog:
            if ins[0] == "relu":
                self.ops[ins[1]] = ReLU()
            elif ins[0] == "rcb":
                _, v, _, k, term = ins
                m = ReLUConvBN(init.conv(f"{prefix}/{term}", C, C, k, ndim), ndim, kit=kit)
                self.ops[v] = m
                self.layers += m.layers
            elif ins[0] == "pool":
                self.ops[ins[1]] = kit.pool3(ndim)
        self.out = self.prog[-1][1] if self.prog else 0
        self.is_zero = bool(self.prog) and self.prog[-1][0] == "zero"

    def forward(self, x, train):
        vals = {0: x}
        for ins in self.prog:
            kind, v = ins[0], ins[1]
            if kind == "relu" or kind == "pool":
                vals[v] = self.ops[v].forward(vals[ins[2]], train)
            elif kind == "rcb":
                vals[v] = self.ops[v].forward(vals[ins[2]], train)
            elif kind == "sum":
                out = self.sum_layer.buffer(f"s{v}", x.shape, x.dtype)
                parts = ins[2]
                c0, a0 = parts[0]
                if len(parts) > 1 and c0 == 1 and parts[1][0] == 1:
                    np.add(vals[a0], vals[parts[1][1]], out=out)
                    rest = parts[2:]
                else:
                    np.multiply(vals[a0], c0, out=out)
                    rest = parts[1:]
                for c, a in rest:
                    if c == 1:
                        out += vals[a]
                    else:
                        out += c * vals[a]
                vals[v] = out
            else:  # zero
                z = self.sum_layer.buffer("zero", x.shape, x.dtype)
                vals[v] = z
        self.x_shape = x.shape
        return vals[self.out]

    def backward(self, dy):
        if self.is_zero:
            return self.sum_layer.buffer("dzero", self.x_shape, dy.dtype)
        grads = {self.out: dy}
        owned: set = set()
        sl = self.sum_layer
        for ins in reversed(self.prog):
            kind, v = ins[0], ins[1]
            g = grads.pop(v, None)
            if g is None:
                continue
            if kind == "sum":
                for c, a in ins[2]:
                    _accumulate(grads, owned, a, g if c == 1 else c * g, sl)
            else:
                _accumulate(grads, owned, ins[2], self.ops[v].backward(g), sl)
        return grads[0]

    def macs(self, spatial) -> int:
        return sum(m.conv.macs(spatial) for m in self.ops.values() if isinstance(m, ReLUConvBN))


class ResBlock(Module):
    """NAS-Bench-201's ResNetBasicblock with stride 2 (the reduction between stages)."""

    def __init__(self, cin: int, cout: int, ndim: int, init: Init, prefix: str,
                 kit: Kit = SINGLE) -> None:
        self.relu = ReLU()
        self.a = ReLUConvBN(init.conv(f"{prefix}.conv_a", cin, cout, 3, ndim), ndim, stride=2,
                            kit=kit)
        self.relu_b = ReLU()
        self.b = ReLUConvBN(init.conv(f"{prefix}.conv_b", cout, cout, 3, ndim), ndim, kit=kit)
        self.pool = kit.pool2(ndim)
        self.short = kit.conv(init.conv(f"{prefix}.shortcut", cin, cout, 1, ndim), ndim)
        self.layers = self.a.layers + self.b.layers + [self.short]
        self.add = Layer()

    def forward(self, x, train):
        h = self.a.forward(self.relu.forward(x, train), train)
        h = self.b.forward(self.relu_b.forward(h, train), train)
        s = self.short.forward(self.pool.forward(x, train), train)
        out = self.add.buffer("out", h.shape, h.dtype)
        np.add(h, s, out=out)
        return out

    def backward(self, dy):
        dh = self.relu_b.backward(self.b.backward(dy))
        dx = self.relu.backward(self.a.backward(dh))
        dx += self.pool.backward(self.short.backward(dy))  # dx is the ReLU's own buffer
        return dx

    def macs(self, spatial) -> int:
        half = self.a.conv.out_shape(spatial)
        return self.a.conv.macs(spatial) + self.b.conv.macs(half) + self.short.macs(half)


class Network:
    """An NB201 network for one cell; activations (L, B, C) in 1-D, (H, W, B, C) in 2-D."""

    def __init__(self, arch, C: int = 8, N: int = 1, in_channels: int = 1,
                 n_classes: int = 10, ndim: int = 1, seed: int = 0, dtype=np.float32,
                 kit: Kit = SINGLE) -> None:
        choices = NB201.check(arch).choices
        init = kit.init(seed, dtype)
        self.ndim, self.C, self.N, self.in_channels = ndim, C, N, in_channels
        self.stem = kit.conv(init.conv("stem.conv", in_channels, C, 3, ndim), ndim)
        self.stem.need_dx = False
        self.stem_bn = kit.bn(C, dtype)
        self.blocks: list = []
        c = C
        for s in range(3):
            if s > 0:
                self.blocks.append(ResBlock(c, 2 * c, ndim, init, f"res{s}", kit=kit))
                c *= 2
            for i in range(N):
                self.blocks.append(Cell(choices, c, ndim, init, f"s{s}c{i}", kit=kit))
        self.last_bn = kit.bn(c, dtype)
        self.last_relu = ReLU()
        self.gap = kit.gap()
        self.fc = kit.linear(init.uniform("head.linear.w", (c, n_classes), c),
                             init.uniform("head.linear.b", (n_classes,), c))
        self.modules = [self.stem, self.stem_bn] + self.blocks + \
            [self.last_bn, self.last_relu, self.gap, self.fc]

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        for m in self.modules:
            x = m.forward(x, train)
        return x

    def backward(self, dlogits: np.ndarray) -> None:
        g = dlogits
        for m in reversed(self.modules):
            g = m.backward(g)

    def parameters(self) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for m in self.modules:
            if isinstance(m, Module):
                out.extend(m.parameters())
            else:
                out.extend((m.params[k], m.grads[k]) for k in m.params)
        return out

    def batchnorms(self) -> list[BatchNorm]:
        bns = [self.stem_bn, self.last_bn]
        for m in self.blocks:
            bns.extend(layer for layer in m.layers if isinstance(layer, BatchNorm))
        return bns

    def n_params(self) -> int:
        return int(sum(p.size for p, _ in self.parameters()))

    def macs(self, spatial: tuple) -> int:
        """Multiply-accumulates of the convolutions and the classifier, per sample."""
        total = self.stem.macs(spatial)
        for m in self.blocks:
            total += m.macs(spatial)
            if isinstance(m, ResBlock):
                spatial = m.a.conv.out_shape(spatial)
        return int(total + self.fc.params["w"].size)
