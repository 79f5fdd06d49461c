"""The ``.hfd`` file: a small header, the range-coded stream and a checksum.

Layout (little endian)::

    magic        4 bytes  b"\\x89HFD"
    version      u8       FORMAT_VERSION
    model id     8 bytes  fingerprint of the stage-1 weights and tables
    height       u32      image height before padding
    width        u32      image width before padding
    pad multiple u16      images are padded (edge replicated) to this multiple
    words        u32 n, then n u32   range coder output (z, then y)
    escapes      u32 m, then m i32   values outside their table's support
    crc32        u32      of every byte before it

A file that is truncated, corrupted, of another version or written by another
model raises :class:`HfdFileError` with what was found and what to do.
"""

import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"\x89HFD"
FORMAT_VERSION = 1
MODEL_ID_BYTES = 8
_HEADER = struct.Struct("<4sB8sIIH")
_COUNT = struct.Struct("<I")


class HfdFileError(ValueError):
    """A file that cannot be decoded by this program and model."""


@dataclass(frozen=True)
class HfdFile:
    """Decoded container: everything the stage-1 decoder needs."""

    model_id: bytes
    height: int
    width: int
    pad_multiple: int
    words: np.ndarray  # uint32 range coder words
    escapes: np.ndarray  # int32 escaped values

    def to_bytes(self) -> bytes:
        if len(self.model_id) != MODEL_ID_BYTES:
            raise ValueError(f"model id must be {MODEL_ID_BYTES} bytes")
        parts = [
            _HEADER.pack(
                MAGIC,
                FORMAT_VERSION,
                self.model_id,
                self.height,
                self.width,
                self.pad_multiple,
            ),
            _COUNT.pack(len(self.words)),
            self.words.astype("<u4").tobytes(),
            _COUNT.pack(len(self.escapes)),
            np.asarray(self.escapes).astype("<i4").tobytes(),
        ]
        body = b"".join(parts)
        return body + _COUNT.pack(zlib.crc32(body))

    @classmethod
    def from_bytes(cls, data: bytes, expected_model_id: bytes | None = None):
        """Parse ``data``; checks magic, version, length, checksum and model id."""
        if len(data) < len(MAGIC) or data[: len(MAGIC)] != MAGIC:
            raise HfdFileError(
                f"not an hfd file: it starts with {data[:4]!r}, expected {MAGIC!r}; "
                "pass a file written by `hfd compress`"
            )
        minimum = _HEADER.size + 3 * _COUNT.size
        if len(data) < minimum:
            raise HfdFileError(
                f"hfd file truncated: {len(data)} bytes, a header alone is "
                f"{minimum}; the file was cut short, compress the image again"
            )
        _, version, model_id, height, width, pad = _HEADER.unpack_from(data)
        if version != FORMAT_VERSION:
            raise HfdFileError(
                f"hfd file format version {version} is not supported (this program "
                f"reads version {FORMAT_VERSION}); use the hfd release that wrote it"
            )
        n_words = _COUNT.unpack_from(data, _HEADER.size)[0]
        at = _HEADER.size + _COUNT.size
        expected = at + 4 * n_words + _COUNT.size
        if len(data) < expected + _COUNT.size:
            raise HfdFileError(
                f"hfd file truncated: {len(data)} bytes, but its header announces "
                f"at least {expected + _COUNT.size}; compress the image again"
            )
        words = np.frombuffer(data, dtype="<u4", count=n_words, offset=at)
        at += 4 * n_words
        n_escapes = _COUNT.unpack_from(data, at)[0]
        at += _COUNT.size
        end = at + 4 * n_escapes
        if len(data) != end + _COUNT.size:
            raise HfdFileError(
                f"hfd file has {len(data)} bytes, but its header announces "
                f"{end + _COUNT.size}; it is truncated or has trailing data"
            )
        escapes = np.frombuffer(data, dtype="<i4", count=n_escapes, offset=at)
        crc = _COUNT.unpack_from(data, end)[0]
        if crc != zlib.crc32(data[:end]):
            raise HfdFileError(
                f"hfd file is corrupted: checksum {zlib.crc32(data[:end]):08x} "
                f"does not match the stored {crc:08x}; compress the image again"
            )
        if expected_model_id is not None and model_id != expected_model_id:
            raise HfdFileError(
                f"hfd file was written by model {model_id.hex()}, but the loaded "
                f"model is {expected_model_id.hex()}; decompress with the model "
                "that compressed it (--model)"
            )
        if height < 1 or width < 1 or pad < 1:
            raise HfdFileError(
                f"hfd file header has an invalid size {height}x{width} (pad {pad})"
            )
        return cls(model_id, height, width, pad, words.astype(np.uint32), escapes)
