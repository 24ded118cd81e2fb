"""One verdict on every failure: the reader's (one line) or a bug (a traceback), the same at
the command line and in the model host as in the window (whose side is in tests/gui)."""

from __future__ import annotations

import importlib
import logging
import pickle
import pkgutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from app import cli
from app.feeds.fetcher import FetchError
from app.services import host, preference, reading, repair
from app.services.failure import reader_message
from app.services.feedback import FeedbackError
from app.services.message import Failed, RankRiver
from app.services.mute import MuteError
from app.services.profile import Profile
from app.services.ranking import RankingError
from app.storage.database import DamagedDatabaseError, StorageError
from app.storage.error import HeedfulError

INTERNAL = {
    "app.feeds.inflater.InflateError",
    "app.feeds.inflater.SizeExceededError",
    "app.feeds.opml._TooManyOutlinesError",
    "app.feeds.shortcut._UnsureError",
    "app.services.host.RemoteError",
    "app.services.message.Refused",
}
"""Exceptions the app defines that never reach the reader as they are: the fetcher turns the
inflater's into a FetchError, the OPML walker stops itself with its own, the RSS shortcut
with its own hands the document to feedparser, a RemoteError is
a bug in a helper process by definition, and a helper answers a message it refuses with one."""


def _defined_errors() -> list[type[BaseException]]:
    """Every exception class defined in the layers below the window and the command line."""
    found: list[type[BaseException]] = []
    for layer in ("storage", "feeds", "services"):
        package = importlib.import_module(f"app.{layer}")
        for info in pkgutil.iter_modules(package.__path__, f"app.{layer}."):
            module = importlib.import_module(info.name)
            found += [
                value
                for value in vars(module).values()
                if isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == module.__name__
            ]
    return found


def test_every_error_the_app_defines_is_the_readers_or_internal() -> None:
    errors = _defined_errors()
    assert len(errors) > 20
    outside = [
        f"{e.__module__}.{e.__qualname__}" for e in errors if not issubclass(e, HeedfulError)
    ]
    assert sorted(outside) == sorted(INTERNAL)


@pytest.mark.parametrize(
    "error",
    [
        StorageError("The database /p/heedful.db is locked by another program."),
        RankingError("For you needs at least 20 clicks."),
        FetchError("the server answered 404 Not Found", status=404),
        MuteError("a rule needs a word"),
        FeedbackError("that article is gone"),
        preference.PreferenceError("refresh minutes must be at least 5"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_heedful_error_is_its_own_message(error: HeedfulError) -> None:
    assert reader_message(error) == str(error)


def test_a_heedful_error_without_words_is_named() -> None:
    assert reader_message(RankingError()) == "RankingError"


@pytest.mark.parametrize(
    "error",
    [KeyError("x"), ValueError("bad"), TypeError("t"), RuntimeError("r"), AssertionError()],
    ids=lambda e: type(e).__name__,
)
def test_anything_else_is_a_bug(error: Exception) -> None:
    assert reader_message(error) is None


def test_an_os_error_names_its_file() -> None:
    error = PermissionError(13, "Permission denied", "/p/heedful.lock")
    assert reader_message(error) == "cannot use /p/heedful.lock: Permission denied"
    assert reader_message(OSError(28, "No space left on device")) == "No space left on device"
    odd = reader_message(IsADirectoryError(21, "Is a directory", "/p/caf\udce9\n"))
    assert odd == "cannot use /p/caf\\xe9\\n: Is a directory"


def test_sqlite_failures_that_mean_a_locked_or_mismatched_database(tmp_path: Path) -> None:
    database = tmp_path / "heedful.db"
    locked = sqlite3.OperationalError("database is locked")
    assert "locked" in (reader_message(locked, database) or "")
    assert str(database) in (reader_message(locked, database) or "")
    wrapped = OperationalError("SELECT 1", {}, sqlite3.OperationalError("no such table: clicks"))
    line = reader_message(wrapped, database) or ""
    assert str(database) in line and "no such table: clicks" in line
    damaged = reader_message(sqlite3.DatabaseError("file is not a database"), database)
    assert damaged == str(DamagedDatabaseError(database, "file is not a database"))
    unnamed = reader_message(locked)
    assert unnamed == "the profile's database failed (database is locked)"


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.IntegrityError("UNIQUE constraint failed: feeds.url"),
        sqlite3.OperationalError('near "SELEC": syntax error'),
        sqlite3.ProgrammingError("Cannot operate on a closed database."),
    ],
    ids=["integrity", "syntax", "closed"],
)
def test_sqlite_failures_that_mean_a_bug(tmp_path: Path, error: Exception) -> None:
    assert reader_message(error, tmp_path / "heedful.db") is None
    assert reader_message(error) is None


def test_a_model_file_that_cannot_be_used_is_the_readers() -> None:
    from nrms_core.checkpoint import CheckpointError

    error = CheckpointError("/p/models/3.pt: not a Heedful NRMS checkpoint")
    assert reader_message(error) == str(error)


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "p"
    with Profile(path):
        pass
    return path


def _fails(
    monkeypatch: pytest.MonkeyPatch, target: object, name: str, error: BaseException
) -> None:
    def broken(*args: object, **kwargs: object) -> object:
        raise error

    monkeypatch.setattr(target, name, broken)


def test_the_cli_tells_a_readers_failure_in_one_line(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fails(monkeypatch, reading, "stats", FeedbackError("that article is gone"))
    assert cli.main(["--data-dir", str(root), "stats"]) == 1
    assert capsys.readouterr().err == "heedful: that article is gone\n"


@pytest.mark.parametrize("command", ["stats", "check", "recover"])
def test_the_cli_exits_2_on_a_bug(
    root: Path,
    command: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _fails(monkeypatch, reading, "stats", ValueError("a bug"))
    _fails(monkeypatch, repair, "check", ValueError("a bug"))
    _fails(monkeypatch, repair, "recover", ValueError("a bug"))
    with caplog.at_level(logging.ERROR):
        assert cli.main(["--data-dir", str(root), command]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bug" in err[0]
    assert any(r.exc_info and r.exc_info[0] is ValueError for r in caplog.records)


def test_the_cli_tells_a_refused_file_in_check_as_at_any_command(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    error = PermissionError(13, "Permission denied", str(root / "heedful.db"))
    _fails(monkeypatch, repair, "check", error)
    assert cli.main(["--data-dir", str(root), "check"]) == 1
    assert (
        capsys.readouterr().err == f"heedful: cannot use {root / 'heedful.db'}: Permission denied\n"
    )


# -- the model host ----------------------------------------------------------------------------


class _Broken:
    """A ranker whose every answer fails with ``error``."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def river(self, **kwargs: object) -> object:
        raise self.error


def _answer(error: Exception) -> Exception | None:
    reply = host.answer(host.Session(_Broken(error)), RankRiver(ranked=False))  # type: ignore[arg-type]
    assert isinstance(reply, Failed)
    return reply.error


def test_the_host_passes_a_readers_failure_on_as_it_is() -> None:
    error = FeedbackError("that article is gone")
    sent = _answer(error)
    assert sent is error
    back = pickle.loads(pickle.dumps(sent))
    assert isinstance(back, FeedbackError) and reader_message(back) == str(error)
    refused = _answer(PermissionError(13, "Permission denied", "/p/models"))
    assert isinstance(refused, PermissionError)


def test_the_host_words_a_readers_failure_that_does_not_pickle(tmp_path: Path) -> None:
    database = tmp_path / "heedful.db"
    sent = host.passable(DamagedDatabaseError(database, "malformed"), database)
    assert isinstance(sent, RankingError)
    assert str(sent) == str(DamagedDatabaseError(database, "malformed"))


@pytest.mark.parametrize("error", [KeyError("x"), ValueError("bad")], ids=["key", "value"])
def test_the_host_sends_a_bug_back_with_its_traceback(error: Exception) -> None:
    sent = _answer(error)
    assert isinstance(sent, host.RemoteError)
    assert "Traceback" in str(sent) and type(error).__name__ in str(sent)
    assert reader_message(sent) is None
