"""The on-disk form of the impact index: named numpy arrays in one file, mapped read-only.

One file rather than one ``.npy`` per array, so that replacing it is one atomic rename: a reader
sees the old arrays or the new ones, never a mix. Layout: an 8-byte magic, the length of a JSON
header, the header (metadata, and each array's dtype, shape and offset), then the arrays, each
aligned to 64 bytes. ``open_arrays`` maps them with ``np.memmap`` (read-only), so the web
workers of one machine share one copy in the page cache, and a file renamed over the old one
leaves the mappings of the old one valid until they are dropped. (So never rewrite the file in
place: a mapped page cut off by truncation kills the process with SIGBUS. Deleting it is safe.)
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np

MAGIC = b"PTIMPCT1"
ALIGN = 64


class ImpactFileError(ValueError):
    """A file that is missing, truncated, damaged or of another format version."""


def write_arrays(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` and ``meta`` to ``path`` atomically: a temporary file beside it, fsync, rename."""
    layout, offset = {}, 0
    for name, array in arrays.items():
        layout[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "offset": offset}
        offset = _aligned(offset + array.nbytes)
    header = json.dumps({"meta": meta, "arrays": layout}).encode()
    header += struct.pack("<I", zlib.crc32(header))  # a damaged header is refused, not misread
    start = _aligned(len(MAGIC) + 8 + len(header))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(MAGIC + struct.pack("<Q", len(header)) + header)
            for name, array in arrays.items():
                handle.seek(start + layout[name]["offset"])
                handle.write(np.ascontiguousarray(array).data)  # (a view: no second copy of a 700 MB array)
            handle.truncate(start + offset)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def open_arrays(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata, read-only arrays) of ``path``; ``ImpactFileError`` if it is not a whole file."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            if handle.read(len(MAGIC)) != MAGIC:
                raise ImpactFileError(f"{path} is not an impact index file (or of another version)")
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > min(size, 1 << 30):
                raise ImpactFileError(f"{path}: header length {length} is impossible")
            header = handle.read(length)
    except OSError as error:
        raise ImpactFileError(f"cannot read {path}: {error}") from error
    except struct.error as error:
        raise ImpactFileError(f"{path} is truncated") from error
    body, crc = header[:-4], header[-4:]
    if len(header) != length or struct.pack("<I", zlib.crc32(body)) != crc:
        raise ImpactFileError(f"{path}: damaged header")
    description = json.loads(body)
    start = _aligned(len(MAGIC) + 8 + length)
    arrays = {}
    for name, spec in description["arrays"].items():
        dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if start + spec["offset"] + nbytes > size:
            raise ImpactFileError(f"{path} is truncated (array {name})")
        if nbytes == 0:
            arrays[name] = np.zeros(shape, dtype)
        else:
            arrays[name] = np.memmap(path, dtype=dtype, mode="r", offset=start + spec["offset"], shape=shape)
    return description["meta"], arrays


def _aligned(offset: int) -> int:
    return (offset + ALIGN - 1) // ALIGN * ALIGN
