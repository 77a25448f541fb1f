"""Exploration: everything that runs iterations, in this process, in worker processes or on a
Dask cluster: `explore`, `replay`, `shrink`'s front, `deterministic` and `sequence_diagram`."""
