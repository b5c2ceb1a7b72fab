"""Validation of a strategy's ask (architecture and epoch), with one-line errors naming the strategy.

The runner calls these only on its slow path: an ask whose architecture is one of the space's
shared enumeration objects and whose epoch is a plain int of the schedule is accepted by two
look-ups and never reaches here. Everything else is checked exactly by the space
(`SearchSpace.check`: type, space name, tuple of ints, length, range per decision; numpy
integers accepted, bools and floats refused) and by the schedule (`Schedule.epoch_index`:
an integer that the schedule records, or None for its last epoch).
"""
from __future__ import annotations

from nasbench_lab import NasbenchError
from nasbench_lab.spaces import SpaceError
from nasbench_lab.tables.integrity import TableError


class AskError(NasbenchError, ValueError):
    """A strategy asked for something that is not a query of this table."""


def arch_index(space, arch, strategy: str) -> int:
    """The table index of an asked architecture, validated exactly by `space`."""
    try:
        return space.to_index(space.check(arch))
    except SpaceError as e:
        raise AskError(f"strategy {strategy!r} asked for an invalid architecture: {e}") from None


def epoch_index(schedule, epoch, strategy: str) -> int:
    """The index on the schedule's epoch axis of an asked epoch (None: the last)."""
    try:
        return schedule.epoch_index(epoch)
    except TableError as e:
        raise AskError(f"strategy {strategy!r} asked for an invalid epoch: {e}") from None


__all__ = ["AskError", "arch_index", "epoch_index"]
