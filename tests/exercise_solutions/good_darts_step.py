"""A correct solution of the darts-step exercise."""
import numpy as np

from nasbench_lab.live.layers import softmax_cross_entropy


def arch_gradient(net, alpha, x, y):
    z = np.exp(alpha - alpha.max(axis=1, keepdims=True))
    p = z / z.sum(axis=1, keepdims=True)
    _, dlogits, _ = softmax_cross_entropy(net.forward(x, p), y)
    dw = net.backward(dlogits)
    return p * (dw - (p * dw).sum(axis=1, keepdims=True))


def derive_cell(alpha):
    return tuple(int(i) for i in np.argmax(alpha, axis=1))
