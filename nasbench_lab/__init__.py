"""nasbench_lab: a sandbox for neural architecture search on tabular benchmarks."""
__version__ = "0.1.0"


class NasbenchError(Exception):
    """An error with a one-line message meant for the user (bad input, bad file...)."""
