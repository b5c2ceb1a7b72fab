"""A strategy's asks (architecture, epoch) validated, and its own errors, as one-line errors naming the strategy.

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


def strategy_error(exc: BaseException, cls: type, strategy: str) -> NasbenchError | None:
    """A one-line error for an exception raised by the strategy's own code (a frame of the
    file that defines `cls` is on its traceback): type, message, file, line and method, as the
    loader reports an error at import. None when the exception did not come from there (a
    runner bug stays a traceback)."""
    import inspect
    import os

    if cls.__module__.startswith("nasbench_lab."):  # a built-in's bug is nasbench_lab's: keep the traceback
        return None
    try:
        home = os.path.realpath(inspect.getfile(cls))
    except (TypeError, OSError):
        return None
    where, tb = None, exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if os.path.realpath(code.co_filename) == home:
            where = f"{os.path.basename(home)} line {tb.tb_lineno}, in {code.co_name}"
        tb = tb.tb_next
    if where is None:
        return None
    msg = str(exc).splitlines()[0] if str(exc) else ""
    return NasbenchError(f"strategy {strategy!r} raised {type(exc).__name__}{': ' + msg if msg else ''} ({where}); "
                         "fix the strategy (check it with nasbench_lab.testing.check_strategy)")


__all__ = ["AskError", "arch_index", "epoch_index", "strategy_error"]
