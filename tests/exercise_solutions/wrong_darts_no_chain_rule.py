"""Wrong: returns dL/dw (no chain rule through the softmax) and leaves none out."""
import numpy as np

from nasbench_lab.live.layers import softmax_cross_entropy


def arch_gradient(net, alpha, x, y):
    z = np.exp(alpha - alpha.max(axis=1, keepdims=True))
    p = z / z.sum(axis=1, keepdims=True)
    _, dlogits, _ = softmax_cross_entropy(net.forward(x, p), y)
    return net.backward(dlogits)


def derive_cell(alpha):
    return tuple(int(i) + 1 for i in np.argmax(np.asarray(alpha)[:, 1:], axis=1))
