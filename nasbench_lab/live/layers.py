"""Layers with hand-written forward and backward passes, in numpy.

Layout is position-major: activations are (L, B, C) for 1-D data and (H, W, B, C) for
2-D data, so every tap of a convolution is a contiguous slice that reshapes to a
(positions*B, C) matrix without a copy and a convolution is k (or k*k) plain matmuls.
Every layer works in the dtype of its parameters (float32 for training, float64 for the
numerical gradient checks). Layers keep their output and scratch buffers between calls
(keyed by shape), so a training step allocates almost nothing; an array a layer returns
is therefore only valid until that layer's next call.

Each layer has `forward(x, train)` and `backward(dy) -> dx`; parameters and their
gradients live in the dicts `params` and `grads` (same keys).
"""
from __future__ import annotations

import math

import numpy as np


def colsum(a2: np.ndarray) -> np.ndarray:
    """Column sums of a C-contiguous (M, C) matrix (a BLAS gemv: much faster than
    a.sum(axis=0) for few columns)."""
    return _ones(a2.shape[0], a2.dtype) @ a2


_ONES: dict = {}


def _ones(m: int, dtype) -> np.ndarray:
    key = (m, np.dtype(dtype).char)
    o = _ONES.get(key)
    if o is None:
        o = _ONES[key] = np.ones(m, dtype)
    return o


def widen(a2: np.ndarray) -> tuple[np.ndarray, int]:
    """View a C-contiguous (M, C) matrix as (M/r, r*C), so that per-channel broadcasting
    runs over long rows (numpy is slow broadcasting a vector of 8 over many short rows)."""
    m, c = a2.shape
    r = math.gcd(m, max(1, 256 // c))
    return a2.reshape(m // r, r * c), r


def tile(v: np.ndarray, r: int, dtype) -> np.ndarray:
    return np.tile(np.asarray(v, dtype=dtype), r)


class Layer:
    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self._buf: dict[tuple, np.ndarray] = {}

    def buffer(self, name: str, shape: tuple, dtype, zero: bool = False) -> np.ndarray:
        """A scratch array owned by this layer; created zero-filled, reused afterwards."""
        key = (name, shape, dtype)
        a = self._buf.get(key)
        if a is None:
            a = np.zeros(shape, dtype)
            self._buf[key] = a
        elif zero:
            a.fill(0)
        return a

    def _set(self, name: str, value: np.ndarray) -> None:
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)


# --------------------------------------------------------------------------- convolution
class Conv(Layer):
    """Convolution without bias, kernel 1 or 3 (padding k//2), stride 1 or 2, 1-D or 2-D.

    Weight layout (taps, C_in, C_out), taps in row-major kernel order.
    """

    def __init__(self, weight: np.ndarray, ndim: int, stride: int = 1) -> None:
        super().__init__()
        taps, self.cin, self.cout = weight.shape
        self.ndim, self.stride = ndim, stride
        self.k = {1: 1, 3: 3, 9: 3}[taps] if ndim == 2 else taps
        if (ndim == 1 and taps not in (1, 3)) or (ndim == 2 and taps not in (1, 9)):
            raise ValueError(f"unsupported kernel: {taps} taps in {ndim}-D")
        self._set("w", weight)
        self.need_dx = True  # False for the first layer: its input gradient is never used

    def out_shape(self, spatial: tuple) -> tuple:
        return tuple((s - 1) // self.stride + 1 for s in spatial)

    # -- forward
    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        self.x_shape = x.shape
        if self.k == 1:
            return self._fwd_k1(x)
        if self.ndim == 1:
            return self._fwd_1d(x)
        return self._fwd_2d(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if self.k == 1:
            return self._bwd_k1(dy)
        if self.ndim == 1:
            return self._bwd_1d(dy)
        return self._bwd_2d(dy)

    def _fwd_k1(self, x):
        w = self.params["w"][0]
        if self.stride > 1:
            x = np.ascontiguousarray(x[(slice(None, None, self.stride),) * self.ndim])
        self.xin = x
        y = self.buffer("y", x.shape[:-1] + (self.cout,), w.dtype)
        np.matmul(x.reshape(-1, self.cin), w, out=y.reshape(-1, self.cout))
        return y

    def _bwd_k1(self, dy):
        w, x = self.params["w"][0], self.xin
        dy2 = dy.reshape(-1, self.cout)
        np.matmul(x.reshape(-1, self.cin).T, dy2, out=self.grads["w"][0])
        dxs = self.buffer("dxs", x.shape, w.dtype)
        np.matmul(dy2, w.T, out=dxs.reshape(-1, self.cin))
        if self.stride == 1:
            return dxs
        dx = self.buffer("dx", self.x_shape, w.dtype, zero=True)
        dx[(slice(None, None, self.stride),) * self.ndim] = dxs
        return dx

    # 1-D, k = 3: y[l] = x[l-1] W0 + x[l] W1 + x[l+1] W2 (zero padding), no pad buffer.
    def _fwd_1d(self, x):
        W = self.params["w"]
        L, B, C = x.shape
        co = self.cout
        if C == 1 and self.stride == 1:
            # one input channel (the stem): im2col with K = 3 beats three K = 1 products
            X3 = self.buffer("X3", (L, B, 3), W.dtype)
            X3[:, :, 1] = x[:, :, 0]
            X3[1:, :, 0] = x[:-1, :, 0]
            X3[:-1, :, 2] = x[1:, :, 0]
            self.xa = X3
            y = self.buffer("y", (L, B, co), W.dtype)
            np.matmul(X3.reshape(L * B, 3), W.reshape(3, co), out=y.reshape(L * B, co))
            return y
        if self.stride == 1:
            self.xa = self.xb = x
            y = self.buffer("y", (L, B, co), W.dtype)
            t = self.buffer("t", ((L - 1) * B, co), W.dtype)
            y2 = y.reshape(L * B, co)
            x2 = x.reshape(L * B, C)
            np.matmul(x2, W[1], out=y2)
            np.matmul(x2[:-B], W[0], out=t)
            y2[B:] += t
            np.matmul(x2[B:], W[2], out=t)
            y2[:-B] += t
            return y
        # stride 2: y[j] = x[2j-1] W0 + x[2j] W1 + x[2j+1] W2
        if self.stride != 2 or L % 2:
            raise ValueError("1-D stride-2 convolution needs stride 2 and an even length")
        lo = L // 2
        xe = self.buffer("xe", (lo, B, C), W.dtype)
        xo = self.buffer("xo", (lo, B, C), W.dtype)
        np.copyto(xe, x[0::2])
        np.copyto(xo, x[1::2])
        self.xa, self.xb = xe, xo
        y = self.buffer("y", (lo, B, co), W.dtype)
        t = self.buffer("t", (lo * B, co), W.dtype)
        y2 = y.reshape(lo * B, co)
        np.matmul(xe.reshape(-1, C), W[1], out=y2)
        np.matmul(xo.reshape(-1, C), W[2], out=t)
        y2 += t
        if lo > 1:
            np.matmul(xo.reshape(-1, C)[:-B], W[0], out=t[:-B])
            y2[B:] += t[:-B]
        return y

    def _bwd_1d(self, dy):
        W, dW = self.params["w"], self.grads["w"]
        L, B, C = self.x_shape
        co = self.cout
        lo = dy.shape[0]
        d2 = dy.reshape(lo * B, co)
        if C == 1 and self.stride == 1:
            np.matmul(self.xa.reshape(L * B, 3).T, d2, out=dW.reshape(3, co))
            if not self.need_dx:
                return None
            dx = self.buffer("dx", (L, B, C), W.dtype)
            dX3 = d2 @ W.reshape(3, co).T
            dX3 = dX3.reshape(L, B, 3)
            dx[:, :, 0] = dX3[:, :, 1]
            dx[:-1, :, 0] += dX3[1:, :, 0]
            dx[1:, :, 0] += dX3[:-1, :, 2]
            return dx
        if self.stride == 1:
            x2 = self.xa.reshape(L * B, C)
            np.matmul(x2.T, d2, out=dW[1])
            np.matmul(x2[:-B].T, d2[B:], out=dW[0])
            np.matmul(x2[B:].T, d2[:-B], out=dW[2])
            if not self.need_dx:
                return None
            dx = self.buffer("dx", (L, B, C), W.dtype)
            t = self.buffer("dt", ((L - 1) * B, C), W.dtype)
            dx2 = dx.reshape(L * B, C)
            np.matmul(d2, W[1].T, out=dx2)
            np.matmul(d2[B:], W[0].T, out=t)
            dx2[:-B] += t
            np.matmul(d2[:-B], W[2].T, out=t)
            dx2[B:] += t
            return dx
        xe, xo = self.xa.reshape(-1, C), self.xb.reshape(-1, C)
        np.matmul(xe.T, d2, out=dW[1])
        np.matmul(xo.T, d2, out=dW[2])
        dx = self.buffer("dx", (L, B, C), W.dtype)
        de = self.buffer("de", (lo * B, C), W.dtype)
        do = self.buffer("do", (lo * B, C), W.dtype)
        np.matmul(d2, W[1].T, out=de)
        np.matmul(d2, W[2].T, out=do)
        if lo > 1:
            np.matmul(xo[:-B].T, d2[B:], out=dW[0])
            do[:-B] += d2[B:] @ W[0].T
        else:
            dW[0].fill(0)
        dx[0::2] = de.reshape(lo, B, C)
        dx[1::2] = do.reshape(lo, B, C)
        return dx

    # 2-D, k = 3: zero-padded flat buffer; output computed on a (H, W+2) "wide" grid so
    # that every tap is a contiguous slice; the 2 extra columns are discarded.
    def _offsets(self, H, Wd):
        wp = Wd + 2
        return wp, [di * wp + dj for di in range(3) for dj in range(3)]

    def _fwd_2d(self, x):
        Wt = self.params["w"]
        H, Wd, B, C = x.shape
        co = self.cout
        wp, offs = self._offsets(H, Wd)
        npos = (H + 2) * wp + 2
        P = self.buffer("P", (npos, B, C), Wt.dtype)
        P[:(H + 2) * wp].reshape(H + 2, wp, B, C)[1:H + 1, 1:Wd + 1] = x
        nw = H * wp
        Pf = P.reshape(-1, C)
        Y = self.buffer("Yw", (nw * B, co), Wt.dtype)
        T = self.buffer("T", (nw * B, co), Wt.dtype)
        for t, o in enumerate(offs):
            a = Pf[o * B:(o + nw) * B]
            if t == 0:
                np.matmul(a, Wt[t], out=Y)
            else:
                np.matmul(a, Wt[t], out=T)
                Y += T
        s = self.stride
        y = Y.reshape(H, wp, B, co)[::s, :Wd:s]
        return np.ascontiguousarray(y)

    def _bwd_2d(self, dy):
        Wt, dW = self.params["w"], self.grads["w"]
        H, Wd, B, C = self.x_shape
        co = self.cout
        wp, offs = self._offsets(H, Wd)
        nw = H * wp
        dY = self.buffer("dYw", (nw * B, co), Wt.dtype)  # untouched entries stay zero
        s = self.stride
        dY.reshape(H, wp, B, co)[::s, :Wd:s] = dy
        P = self.buffer("P", ((H + 2) * wp + 2, B, C), Wt.dtype)
        Pf = P.reshape(-1, C)
        dP = self.buffer("dP", P.shape, Wt.dtype, zero=True)
        dPf = dP.reshape(-1, C)
        for t, o in enumerate(offs):
            np.matmul(Pf[o * B:(o + nw) * B].T, dY, out=dW[t])
            dPf[o * B:(o + nw) * B] += dY @ Wt[t].T
        dx = dP[:(H + 2) * wp].reshape(H + 2, wp, B, C)[1:H + 1, 1:Wd + 1]
        return np.ascontiguousarray(dx)

    def macs(self, spatial: tuple) -> int:
        """Multiply-accumulates per sample for an input of this spatial shape."""
        return int(np.prod(self.out_shape(spatial))) * self.params["w"].size


# --------------------------------------------------------------------------- batch norm
class BatchNorm(Layer):
    """Batch normalisation over all positions and samples, per channel (last axis).

    Train mode normalises with the batch statistics and updates running statistics
    (momentum 0.1, unbiased running variance, as PyTorch); eval mode uses the running
    statistics. The affine part is fused into the normalisation pass.
    """

    def __init__(self, channels: int, dtype=np.float32, eps: float = 1e-5,
                 momentum: float = 0.1) -> None:
        super().__init__()
        self._set("gamma", np.ones(channels, dtype))
        self._set("beta", np.zeros(channels, dtype))
        self.running = np.zeros((2, channels), dtype)  # rows: mean, variance
        self.running[1] = 1
        self.eps, self.momentum = eps, momentum
        self._plans: dict = {}

    @property
    def running_mean(self) -> np.ndarray:
        return self.running[0]

    @property
    def running_var(self) -> np.ndarray:
        return self.running[1]

    def _plan(self, shape: tuple, dtype) -> dict:
        """Buffers and views for one input shape (built once, reused every step)."""
        key = (shape, dtype)
        P = self._plans.get(key)
        if P is None:
            C = shape[-1]
            m = int(np.prod(shape[:-1]))
            r = math.gcd(m, max(1, 256 // C))
            wshape = (m // r, r * C)
            y = np.zeros(shape, dtype)
            xc = np.zeros((m, C), dtype)
            t = np.zeros((m, C), dtype)
            dx = np.zeros(shape, dtype)
            rows = np.zeros((3, r, C), dtype)
            P = dict(m=m, inv_m=dtype.type(1.0 / m) if hasattr(dtype, "type") else 1.0 / m,
                     wshape=wshape, C=C, y=y, y2=y.reshape(m, C), yw=y.reshape(wshape),
                     xc=xc, xcw=xc.reshape(wshape), t=t, tw=t.reshape(wshape), dx=dx,
                     dxw=dx.reshape(wshape), rows=rows, r0=rows[0].reshape(-1),
                     r1=rows[1].reshape(-1), r2=rows[2].reshape(-1), ones=np.ones(m, dtype),
                     ones_m=np.full(m, 1.0 / m, dtype),
                     unbias=self.momentum * m / max(m - 1, 1))
            self._plans[key] = P
        return P

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        g, b = self.params["gamma"], self.params["beta"]
        P = self._plan(x.shape, x.dtype)
        xw = x.reshape(P["wshape"])
        rows = P["rows"]
        self.train = train
        if train:
            # exact centred variance (E[x^2] - E[x]^2 loses too much in float32)
            ones_m, xcw, yw = P["ones_m"], P["xcw"], P["yw"]
            mean = ones_m @ x.reshape(P["m"], P["C"])
            rows[0] = mean
            np.subtract(xw, P["r0"], out=xcw)
            np.multiply(xcw, xcw, out=yw)           # y is scratch here
            var = ones_m @ P["y2"]
            invstd = (var + self.eps) ** -0.5
            scale = g * invstd
            self.P, self.invstd, self.scale = P, invstd, scale
            run = self.running
            run *= 1 - self.momentum
            run[0] += self.momentum * mean
            run[1] += P["unbias"] * var
            rows[1] = scale
            rows[2] = b
            np.multiply(xcw, P["r1"], out=yw)
        else:
            scale = g / np.sqrt(self.running[1] + self.eps)
            rows[1] = scale
            rows[2] = b - self.running[0] * scale
            yw = P["yw"]
            np.multiply(xw, P["r1"], out=yw)
        yw += P["r2"]
        return P["y"]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if not self.train:
            raise RuntimeError("BatchNorm.backward after an eval-mode forward")
        P, invstd, scale = self.P, self.invstd, self.scale
        m, ones, rows, tw = P["m"], P["ones"], P["rows"], P["tw"]
        dw = dy.reshape(P["wshape"])
        np.multiply(dw, P["xcw"], out=tw)
        dbeta = ones @ dy.reshape(m, P["C"])
        dgamma = invstd * (ones @ P["t"])
        self.grads["gamma"][...] = dgamma
        self.grads["beta"][...] = dbeta
        # dx = scale * (dy - dbeta/m - xhat*dgamma/m) = scale*dy + k2*xc + k3
        rows[0] = scale
        rows[1] = (-1.0 / m) * scale * invstd * dgamma
        rows[2] = (-1.0 / m) * scale * dbeta
        dxw = P["dxw"]
        np.multiply(dw, P["r0"], out=dxw)
        np.multiply(P["xcw"], P["r1"], out=tw)
        dxw += tw
        dxw += P["r2"]
        return P["dx"]


# --------------------------------------------------------------------------- elementwise
class ReLU(Layer):
    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        y = self.buffer("y", x.shape, x.dtype)
        mask = self.buffer("mask", x.shape, np.bool_)
        np.greater(x, 0, out=mask)
        np.multiply(x, mask, out=y)
        self.mask = mask
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = self.buffer("dx", dy.shape, dy.dtype)
        np.multiply(dy, self.mask, out=dx)
        return dx


def _box3(x: np.ndarray, axis: int, out: np.ndarray) -> np.ndarray:
    """out = x[i-1] + x[i] + x[i+1] along `axis`, zero padded (a self-adjoint operator)."""
    np.copyto(out, x)
    n = x.shape[axis]
    if n > 1:
        lo = [slice(None)] * x.ndim
        hi = [slice(None)] * x.ndim
        lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
        out[tuple(hi)] += x[tuple(lo)]
        out[tuple(lo)] += x[tuple(hi)]
    return out


class AvgPool3(Layer):
    """NAS-Bench-201's 3x3 average pooling: stride 1, padding 1, padded zeros not counted."""

    def __init__(self, ndim: int) -> None:
        super().__init__()
        self.ndim = ndim

    def _inv_count(self, spatial, dtype):
        key = ("inv",) + tuple(spatial)
        inv = self._buf.get(key)
        if inv is None:
            inv = np.ones((), dtype=np.float64)
            for n in spatial:
                c = np.full(n, 3.0)
                if n > 1:
                    c[0] = c[-1] = 2.0
                else:
                    c[0] = 1.0
                inv = np.multiply.outer(inv, c)
            inv = (1.0 / inv).astype(dtype).reshape(tuple(spatial) + (1, 1))
            self._buf[key] = inv
        return inv

    def _apply(self, x, name):
        cur = x
        for ax in range(self.ndim):
            out = self.buffer(f"{name}{ax}", x.shape, x.dtype)
            cur = _box3(cur, ax, out)
        return cur

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        s = self._apply(x, "f")
        s *= self._inv_count(x.shape[:self.ndim], x.dtype)
        return s

    def backward(self, dy: np.ndarray) -> np.ndarray:
        g = self.buffer("g", dy.shape, dy.dtype)
        np.multiply(dy, self._inv_count(dy.shape[:self.ndim], dy.dtype), out=g)
        return self._apply(g, "b")


class AvgPool2(Layer):
    """2x2 (or 2 in 1-D) average pooling with stride 2, no padding (floor)."""

    def __init__(self, ndim: int) -> None:
        super().__init__()
        self.ndim = ndim

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        self.x_shape = x.shape
        cur = x
        for ax in range(self.ndim):
            n = cur.shape[ax] // 2
            a = [slice(None)] * cur.ndim
            b = [slice(None)] * cur.ndim
            a[ax], b[ax] = slice(0, 2 * n, 2), slice(1, 2 * n, 2)
            cur = (cur[tuple(a)] + cur[tuple(b)]) * 0.5
        return np.ascontiguousarray(cur, dtype=x.dtype)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = self.buffer("dx", self.x_shape, dy.dtype, zero=True)
        half = (dy * (0.5 ** self.ndim)).astype(dy.dtype, copy=False)
        if self.ndim == 1:
            n = dy.shape[0]
            dx[0:2 * n:2] = half
            dx[1:2 * n:2] = half
        else:
            h, w = dy.shape[:2]
            for i in (0, 1):
                for j in (0, 1):
                    dx[i:2 * h:2, j:2 * w:2] = half
        return dx


class GlobalAvgPool(Layer):
    """Mean over all positions: (..., B, C) -> (B, C)."""

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        self.x_shape = x.shape
        n = int(np.prod(x.shape[:-2]))
        self.n = n
        return colsum(x.reshape(n, -1)).reshape(x.shape[-2:]) / x.dtype.type(n)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = self.buffer("dx", self.x_shape, dy.dtype)
        np.copyto(dx, dy / dy.dtype.type(self.n))
        return dx


class Linear(Layer):
    """(B, C_in) @ W (C_in, C_out) + b."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self._set("w", weight)
        self._set("b", bias)

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        self.x = x
        return x @ self.params["w"] + self.params["b"]

    def backward(self, dy: np.ndarray) -> np.ndarray:
        np.matmul(self.x.T, dy, out=self.grads["w"])
        self.grads["b"][...] = dy.sum(axis=0)
        return dy @ self.params["w"].T


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray):
    """Mean cross-entropy, its gradient w.r.t. the logits, and the per-sample correctness."""
    z = logits - logits.max(axis=1, keepdims=True)
    ez = np.exp(z)
    s = ez.sum(axis=1, keepdims=True)
    n = logits.shape[0]
    idx = np.arange(n)
    loss = float(np.mean(np.log(s[:, 0]) - z[idx, labels]))
    grad = ez / s
    grad[idx, labels] -= 1
    grad /= n
    correct = logits.argmax(axis=1) == labels
    return loss, grad, correct
