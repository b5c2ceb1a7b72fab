"""Live-training backend: numpy layers, NB201 networks built from a cell, data, trainer.

    from nasbench_lab.live import train_architecture, BUILTIN_PROTOCOL
    arch = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_3x3~2|"
    r = train_architecture(arch, BUILTIN_PROTOCOL, seed=0)
    r.test_acc[-1], r.train_time.sum(), r.params, r.flops, r.latency_ms

The network is compiled from the cell's canonical form (see `network`), so every
architecture of a canonical-key class trains to the identical result.
"""
from nasbench_lab.live.protocol import (BUILTIN_PROTOCOL, DIGITS_PROTOCOL, PROTOCOLS,
                                        SMALL_PROTOCOL, Protocol)
from nasbench_lab.live.trainer import TrainingResult, train_architecture, train_many

__all__ = ["Protocol", "BUILTIN_PROTOCOL", "SMALL_PROTOCOL", "DIGITS_PROTOCOL", "PROTOCOLS",
           "TrainingResult", "train_architecture", "train_many"]
