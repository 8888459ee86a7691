"""Kaplan-Meier at one time point for many cells (trial, or trial x group) at once.

Records are sorted by (cell, time); runs of equal (cell, time) are risk sets. The product
``prod (1 - d/n)`` and Greenwood's sum over the risk sets up to ``t`` are segment reductions
(``np.multiply.reduceat``/``np.add.reduceat``) in time order, like the single-curve engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepatrial.stats._common import FloatArray, IntArray
from hepatrial.stats._km_engine import ConfType, confidence_limits


@dataclass(frozen=True)
class KMCells:
    """S(t), Greenwood sum and number at risk per cell; ``started`` = a time <= t was seen."""

    survival: FloatArray
    greenwood: FloatArray
    at_risk: IntArray
    started: np.ndarray

    def limits(self, conf_level: float, conf_type: ConfType) -> tuple[FloatArray, FloatArray]:
        """Pointwise limits; 1 before the first observed time, as ``KaplanMeierResult.at``."""
        lower, upper = confidence_limits(
            self.survival, np.sqrt(self.greenwood), conf_level, conf_type
        )
        before = ~self.started & ~np.isnan(self.survival)
        return np.where(before, 1.0, lower), np.where(before, 1.0, upper)


def km_at_cells(
    cell: IntArray, n_cells: int, time: FloatArray, event: FloatArray, t: float
) -> KMCells:
    """Kaplan-Meier estimate at ``t`` for each cell code ``0..n_cells-1``."""
    at_risk = np.bincount(cell[time >= t], minlength=n_cells).astype(np.int64)
    size = np.bincount(cell, minlength=n_cells)
    last_time = np.full(n_cells, -np.inf)
    np.maximum.at(last_time, cell, time)
    survival = np.ones(n_cells)
    greenwood = np.zeros(n_cells)
    started = np.zeros(n_cells, dtype=bool)
    keep = time <= t
    if keep.any():
        c, tt, e = cell[keep], time[keep], event[keep]
        order = np.lexsort((tt, c))
        c, tt, e = c[order], tt[order], e[order]
        new_run = np.empty(c.size, dtype=bool)
        new_run[0] = True
        new_run[1:] = (c[1:] != c[:-1]) | (tt[1:] != tt[:-1])
        starts = np.flatnonzero(new_run)
        run_cell = c[starts]
        deaths = np.add.reduceat(e, starts)
        leaving = np.diff(np.append(starts, c.size))
        # at risk at a run = cell size - records of the cell in earlier runs
        first = np.empty(run_cell.size, dtype=bool)
        first[0] = True
        first[1:] = run_cell[1:] != run_cell[:-1]
        cell_starts = np.flatnonzero(first)
        before = np.cumsum(leaving) - leaving
        before -= np.repeat(before[cell_starts], np.diff(np.append(cell_starts, run_cell.size)))
        n = size[run_cell] - before
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = 1.0 - deaths / n
            increment = np.where(deaths > 0, deaths / (n * (n - deaths)), 0.0)
        cells = run_cell[cell_starts]
        survival[cells] = np.multiply.reduceat(factor, cell_starts)
        greenwood[cells] = np.add.reduceat(increment, cell_starts)
        started[cells] = True
    undefined = (size == 0) | (t > last_time)
    survival[undefined] = np.nan
    greenwood[undefined] = np.nan
    return KMCells(survival=survival, greenwood=greenwood, at_risk=at_risk, started=started)
