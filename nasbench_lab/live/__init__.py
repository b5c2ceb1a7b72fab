"""Live-training backend: numpy layers, NB201 networks built from a cell, data, trainer."""
