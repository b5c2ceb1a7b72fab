"""Instrumenting a live network for proxies: its weights, their gradients, ReLU codes, conv activations."""
from __future__ import annotations

from collections import Counter

import numpy as np

from nasbench_lab.live.layers import BatchNorm, Conv, ReLU, softmax_cross_entropy
from nasbench_lab.live.network import Cell, Network, ResBlock


def weight_layers(net: Network) -> list:
    """The convolutions and the classifier (the layers whose `w` the proxies score), in order."""
    out = [net.stem]
    for m in net.blocks:
        out += [layer for layer in m.layers if isinstance(layer, Conv)]
    return out + [net.fc]


def weights(net: Network) -> list[np.ndarray]:
    return [layer.params["w"] for layer in weight_layers(net)]


def weight_grads(net: Network) -> list[np.ndarray]:
    return [layer.grads["w"] for layer in weight_layers(net)]


def loss_and_grad(net: Network, x: np.ndarray, y: np.ndarray) -> float:
    """Mean cross-entropy of a train-mode forward; leaves d loss / d params in the layers' grads."""
    logits = net.forward(x, train=True)
    loss, dlogits, _ = softmax_cross_entropy(logits, y)
    net.backward(dlogits)
    return loss


def weight_gradient(net: Network, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Copies of d loss / d w for every weight layer."""
    loss_and_grad(net, x, y)
    return [g.copy() for g in weight_grads(net)]


def relus_with_multiplicity(net: Network) -> list[tuple[ReLU, int]]:
    """Every ReLU of the network with the number of NB201 ReLU modules it stands for: the
    compiled cell shares one ReLU among the convolutions that read the same value, where
    NAS-Bench-201 gives each ReLU-Conv-BN op its own."""
    out: list[tuple[ReLU, int]] = []
    for m in net.blocks:
        if isinstance(m, Cell):
            readers = Counter(ins[2] for ins in m.prog if ins[0] == "rcb")
            out += [(m.ops[ins[1]], readers[ins[1]]) for ins in m.prog if ins[0] == "relu"]
        elif isinstance(m, ResBlock):
            out += [(m.relu, 1), (m.relu_b, 1)]
    out.append((net.last_relu, 1))
    return out


def without_batchnorm(net: Network) -> Network:
    """Turn every BatchNorm of `net` into the identity (synflow's setting), in place."""
    for layer in _batchnorms(net):
        layer.forward = lambda x, train=True: x
        layer.backward = lambda dy: dy
    return net


def _batchnorms(net: Network) -> list[BatchNorm]:
    out = [net.stem_bn, net.last_bn]
    for m in net.blocks:
        out += [layer for layer in m.layers if isinstance(layer, BatchNorm)]
    return out


class ActivationGrads:
    """Record, for every weight layer, sum over positions of (output * d loss / d output) per
    sample and channel (the (N, C) matrix Fisher's channel saliency squares), during one
    forward and backward of the network it is attached to."""

    def __init__(self, net: Network) -> None:
        self.terms: list[np.ndarray] = []
        for layer in weight_layers(net):
            self._wrap(layer)

    def _wrap(self, layer) -> None:
        fwd, bwd = layer.forward, layer.backward
        state = {}

        def forward(x, train=True):
            y = fwd(x, train)
            state["y"] = y.copy()
            return y

        def backward(dy):
            prod = state["y"] * dy
            self.terms.append(prod.reshape(-1, *prod.shape[-2:]).sum(axis=0)
                              if prod.ndim > 2 else prod)
            return bwd(dy)

        layer.forward, layer.backward = forward, backward


def input_gradient(net: Network, x: np.ndarray, dlogits_fn) -> np.ndarray:
    """d (dlogits_fn(logits) . logits) / d x for a train-mode forward: with dlogits_fn giving
    ones, the gradient of the sum of the outputs with respect to the input (jacob_cov)."""
    net.stem.need_dx = True
    try:
        logits = net.forward(x, train=True)
        g = dlogits_fn(logits)
        dx = None
        for m in reversed(net.modules):
            g = m.backward(g)
            dx = g
        return np.array(dx)
    finally:
        net.stem.need_dx = False


