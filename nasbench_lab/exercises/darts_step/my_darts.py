"""Exercise "darts-step": the DARTS architecture gradient.  Read TASK.md.

Fill in arch_gradient() and derive_cell(), then run:  python grade.py
(python my_darts.py runs a short DARTS search with your step and scores its cell)
"""
import numpy as np

from nasbench_lab.live.layers import softmax_cross_entropy


def arch_gradient(net, alpha: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """dL/dalpha [6 x 5] of the mean cross-entropy of `net` on (x, y) when every edge mixes
    its 5 ops with the weights softmax(alpha) (a softmax over each row). `net.forward(x, w)`
    gives the logits, `net.backward(dlogits)` returns dL/dw. Leave `alpha` unchanged."""
    # TODO
    raise NotImplementedError("arch_gradient() is not written yet")


def derive_cell(alpha: np.ndarray) -> tuple:
    """The op index with the largest alpha on each of the 6 edges (all five ops, none
    included; ties to the lower index)."""
    # TODO
    raise NotImplementedError("derive_cell() is not written yet")


if __name__ == "__main__":
    from nasbench_lab.exercises.darts_checks import search_with

    result = search_with(arch_gradient, derive_cell, epochs=5)
    print(result)
