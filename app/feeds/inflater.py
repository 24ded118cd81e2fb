"""Bounded decoding of HTTP content codings (gzip, deflate) while streaming.

The fetcher reads raw bytes and decodes them here, so that the size cap applies to
the decoded body and a compression bomb never allocates more than the cap: each
step decompresses at most the number of bytes still allowed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator


class InflateError(Exception):
    """The compressed body is corrupt or uses a coding we do not accept."""


class SizeExceededError(Exception):
    """The decoded body is larger than the allowed number of bytes."""


class Inflater:
    """Decode one response body of the given Content-Encoding, at most ``limit`` bytes."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise InflateError(f"unsupported content encoding {content_encoding!r}")
        self._coding = codings[0] if codings else ""
        if self._coding not in ("", "gzip", "x-gzip", "deflate"):
            raise InflateError(f"unsupported content encoding {self._coding!r}")
        self._limit = limit
        self._produced = 0
        self._decompressor: zlib._Decompress | None = None
        self._raw_deflate_tried = False
        self._seen_input = False
        if self._coding:
            self._decompressor = self._new_decompressor()

    @property
    def produced(self) -> int:
        """Number of decoded bytes produced so far."""
        return self._produced

    def _new_decompressor(self) -> zlib._Decompress:
        if self._coding == "deflate":
            return zlib.decompressobj(zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _count(self, data: bytes) -> bytes:
        self._produced += len(data)
        if self._produced > self._limit:
            raise SizeExceededError(f"the body is larger than {self._limit} bytes")
        return data

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """Yield the decoded bytes of one raw chunk; raise SizeExceededError past the limit."""
        if not self._coding:
            if chunk:
                yield self._count(chunk)
            return
        data = chunk
        while data and self._decompressor is not None:
            allowed = self._limit - self._produced + 1
            try:
                out = self._decompressor.decompress(data, allowed)
            except zlib.error as exc:
                if (
                    self._coding == "deflate"
                    and not self._seen_input
                    and not self._raw_deflate_tried
                ):
                    # Servers often send raw deflate instead of zlib-wrapped deflate.
                    self._raw_deflate_tried = True
                    self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise InflateError(f"corrupt {self._coding} body: {exc}") from exc
            self._seen_input = True
            if out:
                yield self._count(out)
            if self._decompressor.eof:
                rest = self._decompressor.unused_data
                if not rest.strip(b"\x00"):
                    # the last member ended; anything after it is padding
                    self._decompressor = None
                    return
                self._decompressor = self._new_decompressor()
                data = rest
            else:
                data = self._decompressor.unconsumed_tail

    def finish(self) -> Iterator[bytes]:
        """Yield whatever the decoder still holds at the end of the body."""
        if self._decompressor is None:
            return
        if not self._seen_input:
            return
        try:
            out = self._decompressor.flush()
        except zlib.error as exc:
            raise InflateError(f"corrupt {self._coding} body: {exc}") from exc
        if out:
            yield self._count(out)
        if not self._decompressor.eof:
            raise InflateError(f"the {self._coding} body ends before its end marker")
