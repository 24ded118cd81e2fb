"""Reading an SQLite write-ahead log by hand, stale generations included, for salvage.

A log holds frames: a 24-byte header (page number, database size in pages on a commit frame
or 0, the log's two salts, a running checksum) and one page. SQLite reads the frames whose
salts are the header's and whose checksums chain from it, up to the last commit. When a
checkpoint has copied everything into the database file, the next writer starts the log again
from its first frame with new salts (the first salt one higher), so the frames past the new
ones are the previous generations' and still hold the pages that checkpoint wrote. SQLite
never reads those again; :func:`read` returns them too, for pages the database file has lost.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

HEADER = 32
FRAME_HEADER = 24
_MAGIC = (0x377F0682, 0x377F0683)
"""Little- and big-endian checksums."""
_MASK = 0xFFFFFFFF


@dataclass
class Log:
    """What a log holds: ``current`` maps page number to the page as of the last commit that
    SQLite would read; ``size`` is the database's size in pages at that commit (0 when the log
    holds no valid commit); ``stale`` maps each page to its newest committed version in the
    earlier generations (pages in ``current`` left out)."""

    page_size: int
    size: int = 0
    current: dict[int, bytes] = field(default_factory=dict)
    stale: dict[int, bytes] = field(default_factory=dict)


def _checksum(data: bytes, s0: int, s1: int, big: bool) -> tuple[int, int]:
    words = struct.unpack(f"{'>' if big else '<'}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & _MASK
        s1 = (s1 + words[i + 1] + s0) & _MASK
    return s0, s1


def read(data: bytes) -> Log | None:
    """The frames of the log ``data``; None when it is not a log (or too short for a frame)."""
    if len(data) < HEADER:
        return None
    magic, _version, page_size, _seq, salt1, salt2, c0, c1 = struct.unpack(">8I", data[:HEADER])
    if magic not in _MAGIC or page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        return None
    big = magic & 1 == 1
    step = FRAME_HEADER + page_size
    frames = []
    for offset in range(HEADER, len(data) - step + 1, step):
        head = struct.unpack(">6I", data[offset : offset + FRAME_HEADER])
        frames.append((offset, *head))
    log = Log(page_size)
    # The current generation: checksums chain from the header's; stop at the first break.
    valid = _checksum(data[:24], 0, 0, big) == (c0, c1)
    running = (c0, c1)
    pending: dict[int, bytes] = {}
    count = 0
    for offset, number, commit, s1, s2, k0, k1 in frames:
        if not valid or (s1, s2) != (salt1, salt2) or number == 0:
            break
        page = data[offset + FRAME_HEADER : offset + step]
        running = _checksum(data[offset : offset + 8] + page, *running, big)
        if running != (k0, k1):
            break
        pending[number] = page
        count += 1
        if commit:
            log.current.update(pending)
            log.size, pending = commit, {}
    # Earlier generations: the runs of frames with other salts past the current ones, newest
    # generation first (its first salt is the nearest below the header's); within a run, only
    # frames up to its last commit, and only those whose checksum chains from the frame before
    # (the run's first frame has none to chain from and is taken on its salts).
    runs: dict[tuple[int, int], list[tuple[int, int, int, int, int]]] = {}
    for offset, number, commit, s1, s2, k0, k1 in frames[count:]:
        if (s1, s2) != (salt1, salt2) and number:
            runs.setdefault((s1, s2), []).append((offset, number, commit, k0, k1))
    for _salts, run in sorted(runs.items(), key=lambda item: (salt1 - item[0][0]) & _MASK):
        kept: dict[int, bytes] = {}
        pending = {}
        previous: tuple[int, int] | None = None
        for offset, number, commit, k0, k1 in run:
            page = data[offset + FRAME_HEADER : offset + step]
            chained = previous is None or (
                _checksum(data[offset : offset + 8] + page, *previous, big) == (k0, k1)
            )
            previous = (k0, k1)
            if not chained:  # a damaged frame, or a gap: its transaction is dropped
                pending = {}
                continue
            pending[number] = page
            if commit:
                kept.update(pending)
                pending = {}
        for number, page in kept.items():
            if number not in log.current:
                log.stale.setdefault(number, page)
    return log


def page_count(database: Path, page_size: int) -> int:
    """The size in pages that ``database``'s header gives (0 when it has no readable one)."""
    try:
        with database.open("rb") as handle:
            header = handle.read(100)
    except OSError:
        return 0
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return 0
    return int.from_bytes(header[28:32], "big")


def fold(copy: Path) -> None:
    """Write the copy's write-ahead log into the copy itself, and delete the log.

    The log's committed frames (those whose checksums chain from its header) go in first, as
    SQLite would read them. Then pages still lost (all zeros, or past the end: the part of the
    file a cut took) are taken from the stale frames of earlier generations of the log, which
    a checkpoint had written into the file before the log restarted and which the new
    generation has not yet overwritten: the newest committed version of each. Without this,
    rows a checkpoint had moved into the part of the file that was cut are lost, though their
    bytes are still in the log; and a file cut before its schema pages could not be read at
    all. SQLite is not asked to do it, as it deletes a log beside a file it takes for empty."""
    log = copy.with_name(copy.name + "-wal")
    try:
        data = log.read_bytes()
    except OSError:
        return
    found = read(data)
    if found is None:
        return
    log.unlink()
    copy.with_name(copy.name + "-shm").unlink(missing_ok=True)
    size = found.size or page_count(copy, found.page_size)
    with copy.open("r+b") as handle:
        for number, page in found.current.items():
            handle.seek((number - 1) * found.page_size)
            handle.write(page)
        if size:
            handle.truncate(size * found.page_size)
        restored = 0
        for number, page in found.stale.items():
            if size and number > size:
                continue
            handle.seek((number - 1) * found.page_size)
            if not any(handle.read(found.page_size)):  # zeros, or nothing: lost
                handle.seek((number - 1) * found.page_size)
                handle.write(page)
                restored += 1
    if found.current or restored:
        logger.warning(
            "wrote %d pages of the write-ahead log into the copy, and %d lost pages from its "
            "earlier generations",
            len(found.current),
            restored,
        )
