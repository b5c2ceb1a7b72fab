"""A NATS-Bench-compatible facade of the topology API over nasbench_lab tables.

    from nasbench_lab.compat import create
    api = create(None, "tss")                  # the built-in NAS-Bench-201 tables
    info = api.get_more_info(1234, "cifar10-valid", hp="200", is_random=False)
    acc, latency, cost, total = api.simulate_train_eval(1234, "cifar10", hp="12")

See `topology.py` for what each call returns and README "NATS-Bench-compatible API" for
the traps (cifar10 vs cifar10-valid, hp='12' by default, the hidden clock).
"""
from nasbench_lab.compat._data import CompatError, Info, Unavailable
from nasbench_lab.compat.clock import BudgetExhausted, SimulatedClock
from nasbench_lab.compat.results import ArchResults, ResultsCount
from nasbench_lab.compat.topology import NATStopology, create

__all__ = ["create", "NATStopology", "ArchResults", "ResultsCount", "SimulatedClock", "BudgetExhausted",
           "CompatError", "Unavailable", "Info"]
