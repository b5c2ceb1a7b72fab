"""GDAS (Dong & Yang, CVPR 2019): Gumbel-softmax with hard sampling, one path per step.

Each forward samples g ~ Gumbel(0, 1) per edge and op, probs = softmax((log_softmax(alpha)
+ g) / tau), takes the argmax op per edge and runs only that op, with the straight-through
weights one_hot - stop_grad(probs) + probs (NAS-Bench-201's `forward_gdas`: the chosen op
is scaled by its weight, every other op contributes its weight as a constant, so its
gradient is sum(dy)). Per step: a weight step on a weight-half batch (gradient norm clipped
to 5), then an architecture step on an alpha-half batch, each with a fresh sample; tau
decays linearly from tau_max to tau_min over the epochs. Derived cell: argmax of alpha.

Defaults: NAS-Bench-201's GDAS.config (240 epochs, batch 64, SGD lr 0.025 cosine to 0.001,
Nesterov 0.9, wd 5e-4), tau 10 -> 0.1, Adam(3e-4, (0.5, 0.999), wd 1e-3) for alpha;
an epoch is one pass over the weight half of the protocol's training split.
"""
from __future__ import annotations

import numpy as np

from nasbench_lab.live.supernet import one_hot, softmax, softmax_backward
from nasbench_lab.strategies.oneshot.base import OneShotMethod


class GDAS(OneShotMethod):
    name = "gdas"
    defaults = dict(epochs=240, batch_size=64, lr=0.025, eta_min=0.001, momentum=0.9,
                    weight_decay=5e-4, grad_clip=5.0, arch_lr=3e-4, arch_weight_decay=1e-3,
                    tau_max=10.0, tau_min=0.1, exclude_none=False)

    def tau(self, epoch: int) -> float:
        p, E = self.params, int(self.params["epochs"])
        return p["tau_max"] - (p["tau_max"] - p["tau_min"]) * epoch / max(E - 1, 1)

    def sample(self, tau: float):
        """(hard one-hot weights, chosen op per edge, soft probs)."""
        while True:
            g = -np.log(self.rng.exponential(size=self.alpha.shape))
            if np.all(np.isfinite(g)):
                break
        logp = self.alpha - self.alpha.max(1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
        probs = softmax(logp + g, tau)
        idx = probs.argmax(1)
        return one_hot(idx), tuple(int(i) for i in idx), probs

    def train_step(self, w_batch, a_batch, epoch):
        tau = self.tau(epoch)
        hard, idx, _ = self.sample(tau)
        loss, _, c = self.loss_grad(*w_batch, hard, idx)
        self.weight_step(self.params["grad_clip"])
        hard, idx, probs = self.sample(tau)
        _, dw, _ = self.loss_grad(*a_batch, hard, idx)
        dz = softmax_backward(probs, dw, tau)              # straight through the one-hot
        dalpha = dz - softmax(self.alpha) * dz.sum(1, keepdims=True)  # log_softmax
        self.a_opt.step(dalpha)
        return loss, c
