"""The results table of a sweep: one row per finished run (paper §2, Figs. 5-7).

Built from the run folders alone (config, metrics.csv, status.json), so it is the
same whichever backend ran the runs and however often the sweep was stopped. Timing
columns are left out for that reason. Written as Parquet; read it with pandas
(``pd.read_parquet``), DuckDB (``SELECT * FROM 'results.parquet'``) or pyarrow.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from complife.sweep.config import SweepConfig

#: Columns of the table, in order, with their Arrow types.
COLUMNS = {
    "group": "string",
    "run_id": "string",
    "language": "string",
    "num_programs": "int64",
    "seed": "uint64",
    "mutation_prob": "float64",
    "pairing": "string",
    "max_epochs": "int64",
    "stopping_entropy": "float64",
    "initial_program": "string",
    "print_interval": "int64",
    # First report with high-order entropy >= the threshold (null: never).
    "transition_epoch": "int64",
    "transitioned": "bool",
    "final_epoch": "int64",
    "stop_reason": "string",
    "higher_entropy": "float64",
    "h0": "float64",
    "brotli_bpb": "float64",
    "brotli_size": "int64",
    "total_ops": "int64",
    "ops_per_interaction": "float64",
    "folder": "string",
}


def run_row(spec, out: Path, threshold: float) -> dict | None:
    """The table row of one run, or None while it is not finished."""
    from complife.runfolder import RunFolder, read_metrics

    folder = RunFolder(out / spec.folder)
    status = folder.status()
    if status.get("state") != "finished" or not folder.metrics_path.exists():
        return None
    rows = read_metrics(folder.metrics_path)
    if not rows:
        return None
    first = next((r["epoch"] for r in rows if r["higher_entropy"] >= threshold), None)
    last = rows[-1]
    settings = spec.settings
    return {
        "group": spec.group,
        "run_id": spec.run_id,
        "language": spec.language,
        "num_programs": spec.num_programs,
        "seed": spec.seed,
        "mutation_prob": spec.mutation_prob,
        "pairing": spec.pairing,
        "max_epochs": spec.max_epochs,
        "stopping_entropy": settings.get("stopping_entropy"),
        "initial_program": settings.get("initial_program"),
        "print_interval": settings["print_interval"],
        "transition_epoch": first,
        "transitioned": first is not None,
        "final_epoch": last["epoch"],
        "stop_reason": status.get("stop_reason"),
        "higher_entropy": float(last["higher_entropy"]),
        "h0": float(last["h0"]),
        "brotli_bpb": float(last["brotli_bpb"]),
        "brotli_size": last["brotli_size"],
        "total_ops": last["total_ops"],
        "ops_per_interaction": float(last["ops_per_interaction"]),
        "folder": spec.folder,
    }


def build_table(sweep: SweepConfig, out: str | Path):
    """A :class:`pyarrow.Table` of the finished runs of ``sweep`` in ``out``, in the
    sweep's run order."""
    import pyarrow as pa

    out = Path(out)
    rows = [run_row(spec, out, sweep.transition_entropy) for spec in sweep.runs]
    rows = [row for row in rows if row is not None]
    schema = pa.schema([(name, pa.type_for_alias(t)) for name, t in COLUMNS.items()])
    table = pa.Table.from_pylist(rows, schema=schema)
    metadata = {
        "sweep": sweep.name,
        "transition_entropy": repr(sweep.transition_entropy),
        "runs_total": str(len(sweep.runs)),
    }
    return table.replace_schema_metadata({k: v.encode() for k, v in metadata.items()})


def write_table(table, path: str | Path) -> None:
    """Write ``table`` as Parquet, atomically (a reader never sees half a file)."""
    import pyarrow.parquet as pq

    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    pq.write_table(table, partial)
    os.replace(partial, path)


def read_table(path: str | Path) -> list[dict]:
    """The rows of a results table as dicts."""
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pylist()


#: Columns that tell one run from another across sweeps: its settings and, since a
#: run's bytes depend only on its settings, its outcome. ``group`` and ``folder``
#: are left out: one run found in two sweeps, or in two groups, is the same run.
SAME_RUN = tuple(name for name in COLUMNS if name not in ("group", "folder"))


def run_key(row: dict) -> tuple:
    """What makes ``row`` one run, whichever sweep or group holds it."""
    return tuple(row[name] for name in SAME_RUN)


def read_tables(paths: list[str | Path]) -> tuple[list[dict], float | None]:
    """The rows of one or more sweeps' tables, in order, and the threshold they
    count "transitioned" at (None when no table records one). A study run in
    pieces (e.g. Fig. 6, one sweep per rate) is read as one; the figures count a
    run found in several of them once (:func:`run_key`). Tables measured at
    different thresholds cannot be mixed, and a file that is not a results table
    is named with what to do."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, thresholds = [], {}
    for path in paths:
        rebuild = (
            f"rerun `complife sweep run CONFIG --out {Path(path).parent}` to write "
            "it again from the run folders"
        )
        if Path(path).is_dir():
            raise ValueError(f"{path} is a folder, not a results table; {rebuild}")
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as error:
            raise ValueError(
                f"cannot read {path} as a results table ({error}); {rebuild}"
            ) from None
        _check_columns(table, path, rebuild)
        stored = (table.schema.metadata or {}).get(b"transition_entropy")
        if stored is not None:
            try:
                thresholds.setdefault(float(stored.decode()), path)
            except ValueError:
                raise ValueError(
                    f"{path} records transition_entropy {stored!r}, not a number; "
                    f"{rebuild}"
                ) from None
        if len(thresholds) > 1:
            (a, first), (b, second) = list(thresholds.items())[:2]
            raise ValueError(
                f"{first} counts a run as transitioned at high-order entropy >= {a:g} "
                f"but {second} at >= {b:g}; draw together only sweeps with the same "
                "transition_entropy"
            )
        rows += table.to_pylist()
    return rows, next(iter(thresholds), None)


#: Columns every row must fill: what the figures group and count by.
REQUIRED = ("group", "language", "num_programs", "seed", "mutation_prob", "pairing",
            "max_epochs", "transitioned")  # fmt: skip


def _check_columns(table, path, rebuild: str) -> None:
    """Every column of :data:`COLUMNS` with its type, and no gaps where a figure
    reads; else a ValueError naming ``path`` (e.g. a table saved back by pandas)."""
    import pyarrow as pa

    missing = [name for name in COLUMNS if name not in table.column_names]
    if missing:
        raise ValueError(
            f"{path} has no column {', '.join(missing)}, so it is not a results "
            f"table of this complife; {rebuild}"
        )
    for name, kind in COLUMNS.items():
        found = table.schema.field(name).type
        if found != pa.type_for_alias(kind) and found != pa.null():
            raise ValueError(
                f"{path}: column {name} holds {found}, expected {kind}; {rebuild}"
            )
        if name in REQUIRED and table.column(name).null_count:
            raise ValueError(f"{path}: column {name} has empty cells; {rebuild}")


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a fraction k/n (95 % for the default z).

    centre = (p + z²/2n) / (1 + z²/n),
    half-width = z / (1 + z²/n) * sqrt(p(1-p)/n + z²/4n²).
    """
    if n <= 0:
        return (0.0, 1.0)
    p = k / n
    scale = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / scale
    half = z / scale * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At k = 0 (k = n) the bound is exactly 0 (1); computed, it can come out a
    # rounding error inside, and an error bar from it negative.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return (low, high)
