"""``export-opml`` never destroys what is at its target (issue 18, item 2): a regular file or a
new path is replaced atomically, a symbolic link's target likewise (the link stays), a device
or a pipe is written through, a folder is refused, and a full device is one line, exit 1."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

import pytest

from app import cli
from app.feeds.opml import OpmlError, save
from app.services.profile import Profile
from app.services.subscription import SubscriptionError, export_opml
from app.storage import feeds


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    with Profile(root) as opened, opened.db.write() as s:
        feeds.add_feed(s, "https://a.example/feed", title="A", folder="News")
    return root


def _export(root: Path, target: Path) -> int:
    return cli.main(["--data-dir", str(root), "export-opml", str(target)])


def test_a_symlink_is_followed_and_its_target_replaced(profile: Path, tmp_path: Path) -> None:
    target = tmp_path / "real.opml"
    target.write_text("old")
    target.chmod(0o640)
    link = tmp_path / "link.opml"
    link.symlink_to(target)
    assert _export(profile, link) == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert b"https://a.example/feed" in target.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # the file's permissions are kept


def test_a_fifo_is_written_through_not_replaced(profile: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with fifo.open("rb") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        assert _export(profile, fifo) == 0
    finally:
        if reader.is_alive():  # unblock the reader if nothing was written
            with fifo.open("wb"):
                pass
        reader.join(10)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert b"https://a.example/feed" in received[0]


def test_a_fifo_that_nobody_reads_is_refused_in_one_line(
    profile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert _export(profile, fifo) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nothing reads" in err[0]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_dev_full_is_a_disk_full_error_and_stays_a_device(
    profile: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _export(profile, Path("/dev/full")) == 1
    out, err = capsys.readouterr()
    assert "exported" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "disk is full" in lines[0] and "/dev/full" in lines[0]
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_dev_null_stays_a_device(profile: Path) -> None:
    assert _export(profile, Path("/dev/null")) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_folder_is_refused(profile: Path, tmp_path: Path) -> None:
    with Profile(profile) as opened, pytest.raises(SubscriptionError, match="folder"):
        export_opml(opened.db, tmp_path)


def test_a_failed_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "subs.opml"
    target.write_bytes(b"the old list")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OpmlError, match="disk is full"):
        save(target, b"the new list")
    assert target.read_bytes() == b"the old list"
    assert [p.name for p in tmp_path.iterdir()] == ["subs.opml"]


def test_a_new_path_is_created(tmp_path: Path) -> None:
    target = tmp_path / "new.opml"
    save(target, b"<opml/>")
    assert target.read_bytes() == b"<opml/>"
