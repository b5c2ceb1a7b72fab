"""Central-difference numerical gradients, shared by the gradient-check tests."""
import numpy as np


def numerical_gradient(f, x, eps=1e-6):
    """d f() / d x by central differences, perturbing `x` in place (restored afterwards)."""
    g = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g
