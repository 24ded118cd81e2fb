"""Profiles: location, single-writer lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.profile import ENV_HOME, Profile, default_data_dir
from app.storage.database import ProfileLockedError


def test_env_selects_the_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "p"))
    assert default_data_dir() == tmp_path / "p"


def test_profile_creates_its_folders(tmp_path: Path) -> None:
    with Profile(tmp_path / "profile") as profile:
        assert profile.paths.database.exists()
        assert profile.paths.models.is_dir()
        assert profile.paths.cache.is_dir()


def test_second_opening_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    first = Profile(tmp_path)
    try:
        with pytest.raises(ProfileLockedError, match="already open"):
            Profile(tmp_path)
    finally:
        first.close()
    Profile(tmp_path).close()
