"""Search spaces: registry of the spaces nasbench_lab knows."""
from nasbench_lab.spaces.base import Arch, SearchSpace, SpaceError
from nasbench_lab.spaces.nb201 import NB201, NB201_3OPS, NB201Reduced, NB201Space
from nasbench_lab.spaces.nb101 import NB101, NB101Space

_SPACES: dict[str, SearchSpace] = {NB201.name: NB201, NB201_3OPS.name: NB201_3OPS, NB101.name: NB101}


def register_space(space: SearchSpace) -> SearchSpace:
    _SPACES[space.name] = space
    return space


def get_space(name: str) -> SearchSpace:
    try:
        return _SPACES[name]
    except KeyError:
        raise SpaceError(f"unknown search space {name!r}; known: {', '.join(sorted(_SPACES))}") from None


def space_names() -> list[str]:
    return sorted(_SPACES)


__all__ = ["Arch", "SearchSpace", "SpaceError", "NB201", "NB201Space", "NB201Reduced", "NB201_3OPS",
           "NB101", "NB101Space", "get_space", "register_space", "space_names"]
