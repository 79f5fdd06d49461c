"""The official periodic-extrapolation notebook's series: daily minimum
temperatures in Melbourne, 1981-1990 (notes §2.2), a two-column CSV
``"Date","Temp"``."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np


def load_temperatures(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """(days since the first row's date, temperature) from the CSV at ``path``.

    Days come from the dates, not the row numbers, so a missing day leaves a gap
    instead of shifting the rest of the series.
    """
    path = Path(path)
    dates, values = [], []
    try:
        with open(path, newline="") as f:
            rows = csv.reader(f)
            header = next(rows, None)
            if header is None or [h.strip().lower() for h in header[:2]] != [
                "date",
                "temp",
            ]:
                raise ValueError(
                    f"{path}: expected a CSV with the header Date,Temp, got {header}"
                )
            for number, row in enumerate(rows, start=2):
                if not row or not "".join(row).strip():
                    continue
                try:
                    dates.append(dt.date.fromisoformat(row[0].strip()))
                    values.append(float(row[1]))
                except (ValueError, IndexError):
                    raise ValueError(
                        f"{path} line {number}: expected YYYY-MM-DD,temperature, "
                        f"got {row}"
                    ) from None
    except FileNotFoundError:
        raise FileNotFoundError(
            f"temperature series {path} does not exist; it ships beside the repo as "
            "../shared/data/daily-minimum-temperatures.csv (give its path as "
            "data.path)"
        ) from None
    if len(values) < 2:
        raise ValueError(f"{path} holds {len(values)} rows; a series needs more")
    days = np.array([(d - dates[0]).days for d in dates], dtype=np.float64)
    return days, np.array(values, dtype=np.float64)


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """The trailing mean over ``window`` values, one per full window (the first
    ``window - 1`` values have none and are dropped)."""
    if window < 1 or window > len(values):
        raise ValueError(
            f"window must be between 1 and the series length {len(values)}, got "
            f"{window}"
        )
    return np.convolve(values, np.ones(window) / window, mode="valid")
