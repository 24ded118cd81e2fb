"""Every known failure of the command line is one line and exit status 1; a bug is exit
status 2 with its traceback in the log (issue 18, items 10 and 14)."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli
from app.services import reading
from app.services.profile import Profile
from harness.sample import seed_profile
from harness.scenario import ROOT, child_env

BIG = str(2**63)


def _run(root: Path, *args: str) -> int:
    return cli.main(["--data-dir", str(root), *args])


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("heedful: ")
    assert "Traceback" not in err[0]
    return err[0]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "p"
    with Profile(path):
        pass
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("list", "--limit", BIG),
        ("click", BIG),
        ("explain", BIG),
        ("train", "--epochs", BIG),
        ("click", "1", "--dwell", "nan"),
        ("add", "http://x\udcff.example/feed"),
        ("add", "http://x.example/feed", "--folder", "caf\udce9"),
    ],
    ids=["limit", "click", "explain", "epochs", "dwell", "url", "folder"],
)
def test_out_of_range_and_non_utf8_arguments_are_one_line(
    root: Path, args: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        _run(root, *args)
    assert stop.value.code == 1
    line = _one_line(capsys)
    line.encode("utf-8")  # shown with escapes, never as lone surrogates


def test_a_non_utf8_data_dir_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["--data-dir", str(tmp_path / "pro\udcfffile"), "stats"])
    assert stop.value.code == 1
    assert "\\xff" in _one_line(capsys)


def test_a_lock_path_that_is_a_folder_is_one_line(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / "heedful.lock").unlink()
    (root / "heedful.lock").mkdir()
    assert _run(root, "stats") == 1
    assert "heedful.lock" in _one_line(capsys)


def test_a_read_only_lock_file_is_one_line(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = Path.open

    def guarded(self: Path, *args: object, **kwargs: object) -> object:
        if self.name == "heedful.lock":  # as for a reader who is not root
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", guarded)
    assert _run(root, "stats") == 1
    line = _one_line(capsys)
    assert "heedful.lock" in line and "Permission denied" in line


def _set_version(root: Path, version: int) -> None:
    with sqlite3.connect(root / "heedful.db") as conn:
        conn.execute(f"PRAGMA user_version = {version}")


def test_a_negative_schema_version_is_one_line(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_version(root, -5)
    assert _run(root, "stats") == 1
    line = _one_line(capsys)
    assert "heedful.db" in line and "-5" in line


def test_an_old_version_with_newer_tables_is_one_line(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_version(root, 1)
    assert _run(root, "stats") == 1
    line = _one_line(capsys)
    assert "heedful.db" in line and "already exists" in line


def test_a_dropped_table_is_one_line(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conn = sqlite3.connect(root / "heedful.db")
    conn.execute("DROP TABLE clicks")
    conn.commit()
    conn.close()
    assert _run(root, "stats", "--json") == 1
    line = _one_line(capsys)
    assert "heedful.db" in line and "clicks" in line


def test_a_bug_exits_2_with_its_traceback_in_the_log(
    root: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(db: object) -> object:
        table: dict[str, object] = {}
        return table["no such key"]

    monkeypatch.setattr(reading, "stats", broken)
    with caplog.at_level(logging.ERROR):
        assert _run(root, "stats") == 2
    assert "bug" in _one_line(capsys)
    assert any(r.exc_info and r.exc_info[0] is KeyError for r in caplog.records)


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    root = tmp_path / "p"
    seed_profile(root, feed_count=2, per_feed=30, clicks=0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--data-dir", str(root), "list", "--limit", "60"],
        cwd=ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `| head -0` would
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(60) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err


@pytest.mark.slow  # imports torch
def test_cuda_without_cuda_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    root = tmp_path / "p"
    seed_profile(root, feed_count=2, per_feed=20, clicks=21)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _run(root, "train", "--device", "cuda", "--epochs", "1") == 1
    assert "cuda" in _one_line(capsys).lower()


# -- item 14: messages that name the right thing ------------------------------------------------


def test_a_cache_folder_that_is_a_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "cache").write_text("not a folder")
    assert _run(root, "stats") == 1
    line = _one_line(capsys)
    assert str(root / "cache") in line and "file" in line


def test_a_huge_url_is_not_echoed_in_full(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "http://127.0.0.1:9/" + "a" * 100_000
    assert _run(root, "add", url) == 1
    line = _one_line(capsys)
    assert len(line) < 1_000 and "characters)" in line


@pytest.mark.slow  # loads torch and a model
def test_a_damaged_only_checkpoint_is_called_damaged(tmp_path: Path) -> None:
    from app.services.ranking import Ranker
    from harness.training import install_model

    root = tmp_path / "p"
    seed_profile(root, feed_count=2, per_feed=20, clicks=21)
    install_model(root)
    checkpoint = root / "models" / "model-00001.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    with Profile(root) as profile:
        river = Ranker(profile).river(ranked=True, limit=5)
    assert river.notice is not None
    assert "damaged" in river.notice and "model-00001.pt" in river.notice
    assert "No model trained yet" not in river.notice
