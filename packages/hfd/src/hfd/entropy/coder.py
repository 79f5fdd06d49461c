"""Range coding of integer symbols with the integer tables (``constriction``).

Symbols are grouped by table row and each group is coded with one categorical
model, in increasing row order and raster order inside a row. The decoder knows
every symbol's row before decoding (from ``z_hat`` or the channel index), so it
rebuilds the same groups. Values outside a row's support are coded as the escape
bin and their value is appended to ``escapes``.
"""

from collections.abc import Iterator

import constriction
import numpy as np

from hfd.entropy.tables import PRECISION, IntegerTables

_model = constriction.stream.model


class TableModels:
    """Constriction models for the rows of one ``IntegerTables`` (built lazily)."""

    def __init__(self, tables: IntegerTables) -> None:
        self.tables = tables
        self._models: dict[int, object] = {}

    def __getitem__(self, i: int):
        if i not in self._models:
            # Counts / 2^16 are exact binary fractions, so constriction's own
            # fixed-point rounding sees identical input on both sides.
            probabilities = self.tables.row(i).astype(np.float64) / (1 << PRECISION)
            self._models[i] = _model.Categorical(probabilities, perfect=False)
        return self._models[i]


def encode_symbols(
    encoder,
    values: np.ndarray,
    rows: np.ndarray,
    models: TableModels,
    escapes: list[int],
) -> None:
    """Append ``values`` (ints) coded with table rows ``rows`` to ``encoder``."""
    values = values.reshape(-1).astype(np.int64)
    rows = rows.reshape(-1).astype(np.int64)
    tables = models.tables
    for i in np.unique(rows):
        v = values[rows == i] - tables.offsets[i]
        escape_bin = tables.lengths[i] - 1
        outside = (v < 0) | (v >= escape_bin)
        escapes.extend((v[outside] + tables.offsets[i]).tolist())
        v[outside] = escape_bin
        encoder.encode(v.astype(np.int32), models[int(i)])


def decode_symbols(
    decoder, rows: np.ndarray, models: TableModels, escapes: Iterator[int]
) -> np.ndarray:
    """Inverse of :func:`encode_symbols`; ``rows`` has the shape of the result."""
    flat_rows = rows.reshape(-1).astype(np.int64)
    values = np.empty(flat_rows.shape, dtype=np.int64)
    tables = models.tables
    for i in np.unique(flat_rows):
        where = np.nonzero(flat_rows == i)[0]
        v = decoder.decode(models[int(i)], len(where)).astype(np.int64)
        escape_bin = tables.lengths[i] - 1
        decoded = v + tables.offsets[i]
        for j in np.nonzero(v == escape_bin)[0]:
            decoded[j] = next(escapes)
        values[where] = decoded
    return values.reshape(rows.shape)


def new_encoder():
    return constriction.stream.queue.RangeEncoder()


def new_decoder(words: np.ndarray):
    return constriction.stream.queue.RangeDecoder(words)
