"""Sweeps: the paper's statistics over many runs (paper §2, Figs. 5-7).

A study is a TOML file (:mod:`complife.sweep.config`) that expands into runs, each an
ordinary resumable run folder; :mod:`complife.sweep.execute` runs them on local
worker processes or on a Ray cluster, :mod:`complife.sweep.table` gathers one Parquet
table from the run folders, and :mod:`complife.sweep.plots` draws Figs. 5, 6 and 7
with the paper's values beside ours.
"""

from complife.sweep.config import RunSpec, SweepConfig, SweepConfigError, load_sweep

__all__ = ["RunSpec", "SweepConfig", "SweepConfigError", "load_sweep"]
