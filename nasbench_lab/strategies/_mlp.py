"""A small ensemble of tanh MLPs in numpy, trained together as one batched network.

Used by BANANAS (predictor on the path encoding) and the gradient-surrogate strategy
(which also needs the gradient of the prediction with respect to the input). The members
differ by their initialisation (drawn from the caller's generator), as in BANANAS.
All arrays carry a leading ensemble axis E, so one matmul trains every member at once.

tanh rather than ReLU: the surrogate is then smooth in its input, which gradient ascent on
a relaxed architecture and the finite-difference checks in the tests both want.
"""
from __future__ import annotations

import numpy as np

from nasbench_lab.strategies._common import adam_step


class MLPEnsemble:
    def __init__(self, n_in: int, *, members: int = 5, hidden: int = 32, layers: int = 2,
                 rng: np.random.Generator):
        sizes = [n_in] + [hidden] * layers + [1]
        shapes = [(members, a, b) for a, b in zip(sizes[:-1], sizes[1:])] + [(members, b) for b in sizes[1:]]
        # every parameter is a view into one flat vector, so Adam is one vectorised update
        self.flat = np.zeros(sum(int(np.prod(s)) for s in shapes))
        views, at = [], 0
        for s in shapes:
            n = int(np.prod(s))
            views.append(self.flat[at:at + n].reshape(s))
            at += n
        self._shapes = shapes
        L = len(sizes) - 1
        self.W, self.b = views[:L], views[L:]
        for W, (_, a, _) in zip(self.W, shapes[:L]):
            W[...] = rng.normal(0.0, 1.0 / np.sqrt(a), W.shape)
        self.y_mean = 0.0
        self.y_std = 1.0

    @property
    def params(self) -> list:
        return self.W + self.b

    # ----- forward / backward ------------------------------------------------------------
    def _forward(self, X: np.ndarray) -> list:
        """Activations per layer; X is (n, d) shared by the members or (E, n, d)."""
        acts = [X]
        h = X
        last = len(self.W) - 1
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            z = h @ W + b[:, None, :]
            h = np.tanh(z) if i < last else z
            acts.append(h)
        return acts

    def _backward(self, acts: list, g: np.ndarray, need_params: bool = True):
        """Back-propagate g = dL/d(output) (E, n, 1). Returns (param grads, input grad (E, n, d))."""
        gW = [None] * len(self.W)
        gb = [None] * len(self.b)
        for i in range(len(self.W) - 1, -1, -1):
            h_in = acts[i]
            if need_params:
                gW[i] = (h_in.T if h_in.ndim == 2 else np.swapaxes(h_in, 1, 2)) @ g
                gb[i] = g.sum(1)
            g = g @ np.swapaxes(self.W[i], 1, 2)
            if i > 0:
                g = g * (1.0 - acts[i] ** 2)
        return gW + gb, g

    def raw_predict(self, X: np.ndarray) -> np.ndarray:
        """Standardised predictions of every member, (E, n)."""
        return self._forward(X)[-1][..., 0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions of every member in the target's units, (E, n)."""
        return self.raw_predict(X) * self.y_std + self.y_mean

    def __getstate__(self):
        return {"flat": self.flat, "shapes": self._shapes, "y_mean": self.y_mean, "y_std": self.y_std}

    def __setstate__(self, st):
        self.flat, self._shapes = st["flat"], st["shapes"]
        self.y_mean, self.y_std = st["y_mean"], st["y_std"]
        views, at = [], 0
        for s in self._shapes:
            n = int(np.prod(s))
            views.append(self.flat[at:at + n].reshape(s))
            at += n
        L = len(views) // 2
        self.W, self.b = views[:L], views[L:]

    def flat_grad(self, grads: list) -> np.ndarray:
        return np.concatenate([g.ravel() for g in grads])

    def loss_and_grads(self, X: np.ndarray, y: np.ndarray, weight_decay: float = 0.0):
        """Sum over members of mean squared error (+ L2 on weights) and its parameter gradients
        (a list matching `params`); y is standardised."""
        acts = self._forward(X)
        r = acts[-1][..., 0] - y[None, :]
        n = y.size
        loss = float((r ** 2).sum() / n)
        grads, _ = self._backward(acts, (2.0 / n) * r[..., None])
        if weight_decay:
            loss += weight_decay * sum(float((W ** 2).sum()) for W in self.W)
            for i, W in enumerate(self.W):
                grads[i] = grads[i] + 2 * weight_decay * W
        return loss, grads

    def input_grad(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Standardised predictions (E, n) and d prediction / d input (E, n, d)."""
        acts = self._forward(X)
        out = acts[-1][..., 0]
        _, gx = self._backward(acts, np.ones_like(acts[-1]), need_params=False)
        return out, gx

    # ----- training ----------------------------------------------------------------------
    def fit(self, X: np.ndarray, y: np.ndarray, *, steps: int = 200, lr: float = 0.01,
            weight_decay: float = 1e-4, warm: dict | None = None) -> None:
        """Full-batch Adam on standardised targets. `warm` (an Adam state dict) continues an
        earlier fit instead of starting the moments from zero."""
        y = np.asarray(y, dtype=float)
        self.y_mean = float(y.mean())
        self.y_std = float(y.std()) or 1.0
        ys = (y - self.y_mean) / self.y_std
        state = {} if warm is None else warm
        for _ in range(steps):
            _, grads = self.loss_and_grads(X, ys, weight_decay)
            adam_step([self.flat], [self.flat_grad(grads)], state, lr)
