"""Mute rules (app.services.mute) and preferences (app.services.preference) as stored."""

from __future__ import annotations

import pytest

from app.services import mute, preference
from app.services.mute import MuteError, Rule
from app.services.preference import Preferences
from app.services.profile import Profile
from app.storage import events


@pytest.mark.parametrize(
    ("rule", "title", "muted"),
    [
        (Rule("crypto"), "Crypto prices crash again", True),
        (Rule("crypto"), "Cryptography conference opens", False),  # whole words only
        (Rule("Premier League"), "premier league: late winner", True),
        (Rule("AI"), "Retail sales rise", False),
        (Rule(r"\bcelebrit(y|ies)\b", regex=True), "Celebrities attend gala", True),
        (Rule(r"^live:", regex=True), "Live: election results", True),
        (Rule(r"^live:", regex=True), "Election results live:", False),
        (Rule("c++"), "What is new in C++ 26", True),
    ],
)
def test_apply(rule: Rule, title: str, muted: bool) -> None:
    assert mute.apply([rule], title) is muted


def test_broken_rules_are_skipped_not_raised() -> None:
    rules = [Rule("(unclosed", regex=True), Rule(""), Rule("x" * 500), Rule("sport")]
    assert mute.apply(rules, "sport news")
    assert not mute.apply(rules, "(unclosed")
    assert mute.validate(rules[0]) is not None
    assert mute.validate(rules[3]) is None


def test_decode_drops_malformed_json() -> None:
    assert mute.decode(None) == []
    assert mute.decode("{not json") == []
    assert mute.decode('{"pattern": "x"}') == []
    raw = (
        '[{"pattern": "a"}, {"pattern": 3}, "b", {"pattern": "c", "regex": "yes"}, '
        '{"pattern": " d ", "regex": true}]'
    )
    assert mute.decode(raw) == [Rule("a"), Rule("d", True)]
    rules = [Rule("a"), Rule("b.*c", True)]
    assert mute.decode(mute.encode(rules)) == rules


def test_rules_are_stored_in_the_profile(profile: Profile) -> None:
    assert mute.load(profile.db) == []
    mute.save(profile.db, [Rule("crypto"), Rule("^live", True)])
    assert mute.load(profile.db) == [Rule("crypto"), Rule("^live", True)]
    with pytest.raises(MuteError):
        mute.save(profile.db, [Rule("(", True)])
    assert mute.load(profile.db) == [Rule("crypto"), Rule("^live", True)]


def test_preferences_round_trip(profile: Profile) -> None:
    assert preference.load(profile.db) == Preferences()
    prefs = Preferences(refresh_minutes=60, device="cuda", cpu_threads=4, remote_images=True)
    preference.save(profile.db, prefs)
    assert preference.load(profile.db) == prefs
    with profile.db.read() as s:
        assert events.get_setting(s, "retention_days") == "90"


def test_preferences_out_of_range(profile: Profile) -> None:
    with pytest.raises(ValueError, match="refresh minutes"):
        preference.save(profile.db, Preferences(refresh_minutes=0))
    assert preference.problems(Preferences(device="tpu")) == [
        "device must be one of auto, cpu, cuda"
    ]
    with profile.db.write() as s:
        events.set_setting(s, "train_minutes", "not a number")
        events.set_setting(s, "retention_days", "-4")
    assert preference.load(profile.db) == Preferences()


def test_first_run_is_remembered(profile: Profile) -> None:
    assert preference.is_first_run(profile.db)
    preference.mark_welcomed(profile.db)
    assert not preference.is_first_run(profile.db)
