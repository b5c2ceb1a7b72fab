"""Seed-batched layers and network: S trainings of one cell (S seeds) in one pass.

Layout: a leading seed axis on everything. Activations are (S, L, B, C) (1-D), so seed
s's slice is exactly a single-seed activation (contiguous, position-major); parameters,
gradients, BatchNorm's running statistics and the optimiser state carry the same leading
axis (a convolution weight is (S, taps, C_in, C_out), BatchNorm's gamma (S, C), a
classifier weight (S, C_in, C_out)). A convolution or the classifier is a batched
`np.matmul` over the stack of S weight matrices (one BLAS call per seed with the
single-seed shapes on contiguous slices); BatchNorm's statistics are batched gemvs per
seed; everything else is the single-seed elementwise code on S times more numbers.
Every seed therefore runs the same arithmetic on the same numbers as a single-seed
training, bit for bit (tests/test_seedbatch.py), and its result does not depend on which
other seeds share the pass. The gain is Python/numpy call overhead paid once per S seeds.

1-D only (the MNIST-1D protocols); the trainer runs 2-D protocols seed by seed.
"""
from __future__ import annotations

import math

import numpy as np

from nasbench_lab.live.layers import AvgPool3, Layer, _box3, _ones, softmax_cross_entropy
from nasbench_lab.live.network import Init, Kit, Network


_SCRATCH: dict = {}


def scratch(name: str, shape: tuple, dtype) -> np.ndarray:
    """A buffer shared by every seed-batched layer (keyed by name and shape) for values
    that die within one layer call or are consumed by the very next layer (a
    convolution's output read by its BatchNorm, the BatchNorm's input gradient read by
    its convolution): fewer distinct buffers keep the working set in cache."""
    key = (name, shape, np.dtype(dtype).char)
    a = _SCRATCH.get(key)
    if a is None:
        a = _SCRATCH[key] = np.zeros(shape, dtype)
    return a


def tr(w: np.ndarray) -> np.ndarray:
    """Transpose each matrix of a stack (a view)."""
    return np.swapaxes(w, -1, -2)


class SeedConv(Layer):
    """`layers.Conv` (1-D, kernel 1 or 3, stride 1 or 2, no bias) for S seeds at once:
    weight (S, taps, C_in, C_out), input (S, L, B, C_in), output (S, Lo, B, C_out)."""

    def __init__(self, weight: np.ndarray, ndim: int = 1, stride: int = 1) -> None:
        super().__init__()
        if ndim != 1:
            raise ValueError("the seed-batched convolution is 1-D only")
        self.S, taps, self.cin, self.cout = weight.shape
        if taps not in (1, 3) or stride not in (1, 2):
            raise ValueError(f"unsupported convolution: {taps} taps, stride {stride}")
        self.k, self.ndim, self.stride = taps, 1, stride
        self._set("w", weight)
        self.need_dx = True

    def out_shape(self, spatial: tuple) -> tuple:
        return tuple((s - 1) // self.stride + 1 for s in spatial)

    def macs(self, spatial: tuple) -> int:
        """Multiply-accumulates per sample, summed over the seeds (`SeedNetwork.macs`
        divides by S)."""
        return int(np.prod(self.out_shape(spatial))) * self.params["w"].size

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        self.x_shape = x.shape
        if self.k == 1:
            return self._fwd_k1(x)
        return self._fwd_k3(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self.k == 1:
            return self._bwd_k1(dy)
        return self._bwd_k3(dy)

    # kernel 1 (the residual shortcut)
    def _fwd_k1(self, x):
        S, W = self.S, self.params["w"][:, 0]
        if self.stride > 1:
            x = np.ascontiguousarray(x[:, ::self.stride])
        self.xin = x
        y = scratch("conv.y", x.shape[:-1] + (self.cout,), W.dtype)
        np.matmul(x.reshape(S, -1, self.cin), W, out=y.reshape(S, -1, self.cout))
        return y

    def _bwd_k1(self, dy):
        S, W, x = self.S, self.params["w"][:, 0], self.xin
        dy2 = dy.reshape(S, -1, self.cout)
        x2 = x.reshape(S, -1, self.cin)
        np.matmul(tr(x2), dy2, out=self.grads["w"][:, 0])
        dxs = self.buffer("dxs", x.shape, W.dtype)
        np.matmul(dy2, tr(W), out=dxs.reshape(S, -1, self.cin))
        if self.stride == 1:
            return dxs
        dx = self.buffer("dx", self.x_shape, W.dtype, zero=True)
        dx[:, ::self.stride] = dxs
        return dx

    # kernel 3: y[l] = x[l-1] W0 + x[l] W1 + x[l+1] W2 (zero padding)
    def _fwd_k3(self, x):
        W = self.params["w"]
        S, L, B, C = x.shape
        co = self.cout
        if C == 1 and self.stride == 1:  # the stem: im2col with K = 3
            X3 = self.buffer("X3", (S, L, B, 3), W.dtype)
            X3[..., 1] = x[..., 0]
            X3[:, 1:, :, 0] = x[:, :-1, :, 0]
            X3[:, :-1, :, 2] = x[:, 1:, :, 0]
            self.xa = X3
            y = scratch("conv.y", (S, L, B, co), W.dtype)
            np.matmul(X3.reshape(S, L * B, 3), W.reshape(S, 3, co), out=y.reshape(S, L * B, co))
            return y
        if self.stride == 1:
            self.xa = x
            y = scratch("conv.y", (S, L, B, co), W.dtype)
            t = scratch("conv.t", (S, (L - 1) * B, co), W.dtype)
            y2 = y.reshape(S, L * B, co)
            x2 = x.reshape(S, L * B, C)
            np.matmul(x2, W[:, 1], out=y2)
            np.matmul(x2[:, :-B], W[:, 0], out=t)
            y2[:, B:] += t
            np.matmul(x2[:, B:], W[:, 2], out=t)
            y2[:, :-B] += t
            return y
        if L % 2:
            raise ValueError("1-D stride-2 convolution needs an even length")
        lo = L // 2
        xe = self.buffer("xe", (S, lo, B, C), W.dtype)
        xo = self.buffer("xo", (S, lo, B, C), W.dtype)
        np.copyto(xe, x[:, 0::2])
        np.copyto(xo, x[:, 1::2])
        self.xa, self.xb = xe, xo
        y = scratch("conv.y", (S, lo, B, co), W.dtype)
        t = scratch("conv.t", (S, lo * B, co), W.dtype)
        y2 = y.reshape(S, lo * B, co)
        xe2, xo2 = xe.reshape(S, -1, C), xo.reshape(S, -1, C)
        np.matmul(xe2, W[:, 1], out=y2)
        np.matmul(xo2, W[:, 2], out=t)
        y2 += t
        if lo > 1:
            np.matmul(xo2[:, :-B], W[:, 0], out=t[:, :-B])
            y2[:, B:] += t[:, :-B]
        return y

    def _bwd_k3(self, dy):
        W, dW = self.params["w"], self.grads["w"]
        S, L, B, C = self.x_shape
        co = self.cout
        lo = dy.shape[1]
        d2 = dy.reshape(S, lo * B, co)
        if C == 1 and self.stride == 1:
            np.matmul(tr(self.xa.reshape(S, L * B, 3)), d2, out=dW.reshape(S, 3, co))
            if not self.need_dx:
                return None
            dX3 = np.matmul(d2, tr(W.reshape(S, 3, co))).reshape(S, L, B, 3)
            dx = self.buffer("dx", (S, L, B, C), W.dtype)
            dx[..., 0] = dX3[..., 1]
            dx[:, :-1, :, 0] += dX3[:, 1:, :, 0]
            dx[:, 1:, :, 0] += dX3[:, :-1, :, 2]
            return dx
        if self.stride == 1:
            x2 = self.xa.reshape(S, L * B, C)
            np.matmul(tr(x2), d2, out=dW[:, 1])
            np.matmul(tr(x2[:, :-B]), d2[:, B:], out=dW[:, 0])
            np.matmul(tr(x2[:, B:]), d2[:, :-B], out=dW[:, 2])
            if not self.need_dx:
                return None
            dx = self.buffer("dx", (S, L, B, C), W.dtype)
            t = scratch("conv.t", (S, (L - 1) * B, C), W.dtype)
            dx2 = dx.reshape(S, L * B, C)
            np.matmul(d2, tr(W[:, 1]), out=dx2)
            np.matmul(d2[:, B:], tr(W[:, 0]), out=t)
            dx2[:, :-B] += t
            np.matmul(d2[:, :-B], tr(W[:, 2]), out=t)
            dx2[:, B:] += t
            return dx
        xe, xo = self.xa.reshape(S, -1, C), self.xb.reshape(S, -1, C)
        np.matmul(tr(xe), d2, out=dW[:, 1])
        np.matmul(tr(xo), d2, out=dW[:, 2])
        dx = self.buffer("dx", (S, L, B, C), W.dtype)
        de = scratch("conv.de", (S, lo * B, C), W.dtype)
        do = scratch("conv.do", (S, lo * B, C), W.dtype)
        np.matmul(d2, tr(W[:, 1]), out=de)
        np.matmul(d2, tr(W[:, 2]), out=do)
        if lo > 1:
            np.matmul(tr(xo[:, :-B]), d2[:, B:], out=dW[:, 0])
            t = scratch("conv.t", (S, (lo - 1) * B, C), W.dtype)
            np.matmul(d2[:, B:], tr(W[:, 0]), out=t)
            do[:, :-B] += t
        else:
            dW[:, 0].fill(0)
        dx[:, 0::2] = de.reshape(S, lo, B, C)
        dx[:, 1::2] = do.reshape(S, lo, B, C)
        return dx


class SeedBatchNorm(Layer):
    """`layers.BatchNorm` for S seeds: statistics per seed and channel over (L, B);
    gamma, beta (S, C); running statistics (2, S, C). Same steps, same arithmetic."""

    def __init__(self, S: int, channels: int, dtype=np.float32, eps: float = 1e-5,
                 momentum: float = 0.1) -> None:
        super().__init__()
        self.S = S
        self._set("gamma", np.ones((S, channels), dtype))
        self._set("beta", np.zeros((S, channels), dtype))
        self.running = np.zeros((2, S, channels), dtype)
        self.running[1] = 1
        self.eps, self.momentum = eps, momentum
        self._plans: dict = {}
        self.scratch_dx = True  # False where the input gradient outlives the next layer

    @property
    def running_mean(self) -> np.ndarray:
        return self.running[0]

    @property
    def running_var(self) -> np.ndarray:
        return self.running[1]

    def _plan(self, shape: tuple, dtype) -> dict:
        key = (shape, dtype)
        P = self._plans.get(key)
        if P is None:
            S, C = shape[0], shape[-1]
            m = int(np.prod(shape[1:-1]))
            r = math.gcd(m, max(1, 256 // C))  # as BatchNorm: long rows for broadcasting
            wshape = (S, m // r, r * C)
            y, xc = np.zeros(shape, dtype), np.zeros(shape, dtype)
            t = scratch("bn.t", shape, dtype)
            dx = scratch("bn.dx", shape, dtype) if self.scratch_dx else np.zeros(shape, dtype)
            rows = np.zeros((3, S, r, C), dtype)
            P = dict(m=m, wshape=wshape, C=C, y=y, y3=y.reshape(S, m, C), yw=y.reshape(wshape),
                     xc=xc, xcw=xc.reshape(wshape), t3=t.reshape(S, m, C), tw=t.reshape(wshape),
                     dx=dx, dxw=dx.reshape(wshape), rows=rows,
                     r0=rows[0].reshape(S, 1, r * C), r1=rows[1].reshape(S, 1, r * C),
                     r2=rows[2].reshape(S, 1, r * C), ones=np.ones(m, dtype),
                     ones_m=np.full(m, 1.0 / m, dtype), unbias=self.momentum * m / max(m - 1, 1))
            self._plans[key] = P
        return P

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        g, b = self.params["gamma"], self.params["beta"]
        P = self._plan(x.shape, x.dtype)
        S, m, C = x.shape[0], P["m"], P["C"]
        xw = x.reshape(P["wshape"])
        rows = P["rows"]
        self.train = train
        if train:
            xcw, yw = P["xcw"], P["yw"]
            mean = np.matmul(P["ones_m"], x.reshape(S, m, C))
            rows[0] = mean[:, None]
            np.subtract(xw, P["r0"], out=xcw)
            np.multiply(xcw, xcw, out=yw)
            var = np.matmul(P["ones_m"], P["y3"])
            invstd = (var + self.eps) ** -0.5
            scale = g * invstd
            self.P, self.invstd, self.scale = P, invstd, scale
            run = self.running
            run *= 1 - self.momentum
            run[0] += self.momentum * mean
            run[1] += P["unbias"] * var
            rows[1] = scale[:, None]
            rows[2] = b[:, None]
            np.multiply(xcw, P["r1"], out=yw)
        else:
            scale = g / np.sqrt(self.running[1] + self.eps)
            rows[1] = scale[:, None]
            rows[2] = (b - self.running[0] * scale)[:, None]
            yw = P["yw"]
            np.multiply(xw, P["r1"], out=yw)
        yw += P["r2"]
        return P["y"]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if not self.train:
            raise RuntimeError("BatchNorm.backward after an eval-mode forward")
        P, invstd, scale = self.P, self.invstd, self.scale
        m, rows, tw = P["m"], P["rows"], P["tw"]
        dw = dy.reshape(P["wshape"])
        np.multiply(dw, P["xcw"], out=tw)
        dbeta = np.matmul(P["ones"], dy.reshape(self.S, m, P["C"]))
        dgamma = invstd * np.matmul(P["ones"], P["t3"])
        self.grads["gamma"][...] = dgamma
        self.grads["beta"][...] = dbeta
        rows[0] = scale[:, None]
        rows[1] = ((-1.0 / m) * scale * invstd * dgamma)[:, None]
        rows[2] = ((-1.0 / m) * scale * dbeta)[:, None]
        dxw = P["dxw"]
        np.multiply(dw, P["r0"], out=dxw)
        np.multiply(P["xcw"], P["r1"], out=tw)
        dxw += tw
        dxw += P["r2"]
        return P["dx"]


class SeedAvgPool3(AvgPool3):
    """`layers.AvgPool3` on (S, L, B, C)."""

    def _apply(self, x, name):
        cur = x
        for ax in range(self.ndim):
            out = self.buffer(f"{name}{ax}", x.shape, x.dtype)
            cur = _box3(cur, ax + 1, out)
        return cur

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        s = self._apply(x, "f")
        s *= self._inv_count(x.shape[1:1 + self.ndim], x.dtype)
        return s

    def backward(self, dy: np.ndarray) -> np.ndarray:
        g = self.buffer("g", dy.shape, dy.dtype)
        np.multiply(dy, self._inv_count(dy.shape[1:1 + self.ndim], dy.dtype), out=g)
        return self._apply(g, "b")


class SeedAvgPool2(Layer):
    """`layers.AvgPool2` (1-D: 2 with stride 2, floor) on (S, L, B, C)."""

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        self.x_shape = x.shape
        n = x.shape[1] // 2
        return np.ascontiguousarray((x[:, 0:2 * n:2] + x[:, 1:2 * n:2]) * 0.5, dtype=x.dtype)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = self.buffer("dx", self.x_shape, dy.dtype, zero=True)
        half = (dy * 0.5).astype(dy.dtype, copy=False)
        n = dy.shape[1]
        dx[:, 0:2 * n:2] = half
        dx[:, 1:2 * n:2] = half
        return dx


class SeedGlobalAvgPool(Layer):
    """`layers.GlobalAvgPool` per seed: (S, L, B, C) -> (S, B, C)."""

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        self.x_shape = x.shape
        S, n = x.shape[0], x.shape[1]
        self.n = n
        s = np.matmul(_ones(n, x.dtype), x.reshape(S, n, -1))
        return s.reshape((S,) + x.shape[-2:]) / x.dtype.type(n)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = self.buffer("dx", self.x_shape, dy.dtype)
        np.copyto(dx, (dy / dy.dtype.type(self.n))[:, None])
        return dx


class SeedLinear(Layer):
    """`layers.Linear` per seed: (S, B, C_in) @ W[s] (C_in, C_out) + b[s]."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.S = weight.shape[0]
        self._set("w", weight)
        self._set("b", bias)

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        self.x = x
        return np.matmul(x, self.params["w"]) + self.params["b"][:, None, :]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        np.matmul(tr(self.x), dy, out=self.grads["w"])
        for s in range(self.S):  # the single-seed reduction, seed by seed
            self.grads["b"][s] = dy[s].sum(axis=0)
        return np.matmul(dy, tr(self.params["w"]))


class SeedInit:
    """Initial weights of S seeds, stacked: seed s's are exactly `Init(s)`'s."""

    def __init__(self, seeds, dtype) -> None:
        self.inits = [Init(s, dtype) for s in seeds]

    def uniform(self, name: str, shape: tuple, fan_in: int) -> np.ndarray:
        return np.stack([i.uniform(name, shape, fan_in) for i in self.inits])

    def conv(self, name: str, cin: int, cout: int, k: int, ndim: int) -> np.ndarray:
        return np.stack([i.conv(name, cin, cout, k, ndim) for i in self.inits])


class SeedKit(Kit):
    """The layer constructors of a seed-batched network."""

    def __init__(self, seeds) -> None:
        self.seeds = [int(s) for s in seeds]
        self.S = len(self.seeds)

    def init(self, seed, dtype):
        return SeedInit(self.seeds, dtype)

    def conv(self, w, ndim, stride=1):
        return SeedConv(w, ndim, stride)

    def bn(self, channels, dtype):
        return SeedBatchNorm(self.S, channels, dtype)

    def linear(self, w, b):
        return SeedLinear(w, b)

    def pool3(self, ndim):
        return SeedAvgPool3(ndim)

    def pool2(self, ndim):
        return SeedAvgPool2()

    def gap(self):
        return SeedGlobalAvgPool()


class SeedNetwork(Network):
    """`Network(arch, seed=s)` for every s in `seeds`, trained together (1-D only).

    Input (S, L, B, in_channels), logits (S, B, n_classes); seed s's weights, gradients
    and running statistics are those of the single-seed network, at every step."""

    def __init__(self, arch, seeds, C: int = 8, N: int = 1, in_channels: int = 1,
                 n_classes: int = 10, ndim: int = 1, dtype=np.float32) -> None:
        if ndim != 1:
            raise ValueError("the seed-batched network is 1-D only")
        kit = SeedKit(seeds)
        self.seeds, self.S = kit.seeds, kit.S
        super().__init__(arch, C=C, N=N, in_channels=in_channels, n_classes=n_classes,
                         ndim=ndim, dtype=dtype, kit=kit)
        self.last_bn.scratch_dx = False  # its input gradient is kept by the last cell

    def n_params(self) -> int:
        """Parameters of one seed's network."""
        return super().n_params() // self.S

    def macs(self, spatial: tuple) -> int:
        """Multiply-accumulates of one seed's network, per sample."""
        return super().macs(spatial) // self.S


def seed_cross_entropy(logits: np.ndarray, labels: np.ndarray):
    """`softmax_cross_entropy` per seed: logits (S, B, K), labels (S, B) or (B,).
    Returns per-seed losses (list), gradients (S, B, K) and correctness (S, B)."""
    S = logits.shape[0]
    grad = np.empty_like(logits)
    correct = np.empty(logits.shape[:2], bool)
    losses = []
    for s in range(S):
        ys = labels[s] if labels.ndim == 2 else labels
        loss, g, c = softmax_cross_entropy(np.ascontiguousarray(logits[s]), ys)
        losses.append(loss)
        grad[s], correct[s] = g, c
    return losses, grad, correct
