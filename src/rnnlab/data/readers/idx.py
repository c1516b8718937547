"""Read IDX files, the format of the MNIST distribution (plain or gzip-compressed).

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one
big-endian ``uint32`` per dimension, then the values in C order, big-endian.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from rnnlab.errors import DataError

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip (recognised by content, not by name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"IDX file {path} does not exist.") from None
    except OSError as error:
        raise DataError(f"IDX file {path} cannot be read ({error.strerror}).") from None
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(
            f"IDX file {path} is a corrupt or truncated gzip file ({error}). Download it again."
        ) from None


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in the IDX file ``path`` (``.gz`` or not), in native byte order.

    Raises :class:`DataError` naming the file when it is missing, not IDX, or truncated.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise DataError(
            f"{path} is not an IDX file: expected the magic number 00 00 <type> <ndim> with type "
            f"one of {', '.join(f'{t:02x}' for t in IDX_TYPES)}; found "
            f"{data[:4].hex(' ') or 'an empty file'}."
        )
    dtype, ndim = IDX_TYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"IDX file {path} is truncated: its header declares {ndim} dimensions.")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(
            f"IDX file {path} declares shape {shape} of {dtype.name} ({expected} bytes of values) "
            f"but holds {len(data) - header} bytes of values: it is truncated or corrupt."
        )
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))
