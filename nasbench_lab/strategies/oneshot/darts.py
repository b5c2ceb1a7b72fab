"""DARTS (Liu, Simonyan & Yang, ICLR 2019) on the NB201 supernet, first and second order.

Every step: one architecture step on a batch of the alpha half, then one weight step on a
batch of the weight half, both through softmax(alpha) on every edge (all ops computed).

First order (DARTS-V1): dalpha = d L_val(w, alpha) / d alpha.
Second order (DARTS-V2): the one-step unrolled weights w' = w - xi (m buf + g + wd w)
(xi = the current weight learning rate, the SGD momentum term and weight decay included,
as NAS-Bench-201's DARTS-V2 script) and
    dalpha = dL_val(w', alpha)/dalpha - xi * (dL_train(w+, alpha) - dL_train(w-, alpha)) / (2 eps)
with w+- = w +- eps v, v = dL_val(w', alpha)/dw', eps = r / |v| (finite-difference
Hessian-vector product, r = 0.01).

Derived cell: the per-edge argmax of alpha over all five ops (NAS-Bench-201's
`genotype()`; `exclude_none=True` gives the original DARTS rule).

Defaults: NAS-Bench-201's DARTS.config (50 epochs, batch 64, SGD lr 0.025 cosine to 0.001,
Nesterov 0.9, wd 5e-4, gradient norm clipped to 5) and Adam(3e-4, (0.5, 0.999), wd 1e-3)
for alpha. An epoch here is one pass over half of the protocol's training split (31 steps
of 64 on the built-in protocol), so the published epoch count is kept and the search sees
this data set's size.
"""
from __future__ import annotations

import numpy as np

from nasbench_lab.live.supernet import softmax, softmax_backward
from nasbench_lab.strategies.oneshot.base import OneShotMethod

DARTS_DEFAULTS = dict(epochs=50, batch_size=64, lr=0.025, eta_min=0.001, momentum=0.9,
                      weight_decay=5e-4, grad_clip=5.0, arch_lr=3e-4, arch_weight_decay=1e-3,
                      exclude_none=False)


class DARTS(OneShotMethod):
    name = "darts-v1"
    order = 1
    defaults = DARTS_DEFAULTS

    def arch_gradient(self, w_batch, a_batch) -> np.ndarray:
        p = softmax(self.alpha)
        if self.order == 1:
            _, dw, _ = self.loss_grad(*a_batch, p)
            return softmax_backward(p, dw)
        return self.unrolled_gradient(w_batch, a_batch, p)

    def unrolled_gradient(self, w_batch, a_batch, p) -> np.ndarray:
        opt, P, G = self.w_opt, self.P, self.G
        xi = self.lr()
        w0 = P.copy()
        self.loss_grad(*w_batch, p)                       # G = dL_train/dw at w
        step = G + opt.wd * w0
        if not opt.first:
            step += opt.momentum * opt.buf
        P -= P.dtype.type(xi) * step                      # w'
        _, dw_val, _ = self.loss_grad(*a_batch, p)        # at w': dL_val/dalpha, G = v
        dalpha = softmax_backward(p, dw_val)
        v = G.copy()
        eps = self.params["unroll_r"] / max(float(np.linalg.norm(v)), 1e-12)
        np.add(w0, P.dtype.type(eps) * v, out=P)
        _, dplus, _ = self.loss_grad(*w_batch, p)
        np.subtract(w0, P.dtype.type(eps) * v, out=P)
        _, dminus, _ = self.loss_grad(*w_batch, p)
        P[...] = w0
        hvp = softmax_backward(p, (dplus - dminus) / (2 * eps))
        return dalpha - xi * hvp

    def train_step(self, w_batch, a_batch, epoch):
        self.a_opt.step(self.arch_gradient(w_batch, a_batch))
        loss, _, c = self.loss_grad(*w_batch, softmax(self.alpha))
        self.weight_step(self.params["grad_clip"])
        return loss, c


class DARTSSecondOrder(DARTS):
    name = "darts-v2"
    order = 2
    defaults = {**DARTS_DEFAULTS, "unroll_r": 0.01}
