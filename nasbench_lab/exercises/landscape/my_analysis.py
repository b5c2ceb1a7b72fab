"""Exercise "landscape": which op matters most?  Read TASK.md.

Fill in op_effects() and most_important_op(), then run:  python grade.py
(python my_analysis.py prints your answer for the small table)
"""
import numpy as np

from nasbench_lab.tables import open_table


def load(table: str = "nb201-3ops-small"):
    """valid: (n_archs,) seed-mean validation accuracy at the last epoch of every cell;
    choices: (n_archs, n_edges) the op index on each edge; ops: the op names (index -> name)."""
    t = open_table(table)
    idx = np.arange(t.n_archs)
    valid = t.lookup("valid_acc", idx)
    choices = np.array([t.space.from_index(int(i)).choices for i in idx])
    return valid, choices, list(t.space.ops)


def op_effects(valid: np.ndarray, choices: np.ndarray, ops: list) -> dict:
    """{op name: mean validation accuracy of the cells that use the op on at least one edge
    minus the mean of the cells that do not use it}; NaN accuracies (failed trainings) are
    left out of both means."""
    # TODO
    raise NotImplementedError("op_effects() is not written yet")


def most_important_op(valid: np.ndarray, choices: np.ndarray, ops: list) -> str:
    """The name of the op whose presence changes the mean validation accuracy the most
    (the largest effect in absolute value: a harmful op can matter most)."""
    # TODO
    raise NotImplementedError("most_important_op() is not written yet")


if __name__ == "__main__":
    valid, choices, ops = load()
    print(op_effects(valid, choices, ops))
    print("most important:", most_important_op(valid, choices, ops))
