"""Mute rules: keywords or regular expressions that dim matching headlines in the river.

Rules are kept as one JSON setting in the profile. A muted article is still listed (the river
reorders and dims, it never hides); :func:`apply` says whether a title matches any rule.

Titles and keywords are compared after :func:`normalise` (NFKC, invisible characters removed,
case-folded), so "Elec\u200btion" or "ＥＬＥＣＴＩＯＮ" is muted by "election". A regular
expression sees the title after NFKC and with invisible characters removed, matched without
regard to case (case-folding would change what its escapes mean).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.orm import Session

from app.feeds.sanitizer import strip_invisible
from app.storage import events
from app.storage.database import Database
from app.storage.error import HeedfulError

log = logging.getLogger(__name__)

SETTING_KEY = "mute_rules"
MAX_PATTERN_LENGTH = 200
MAX_RULES = 500


class MuteError(HeedfulError, ValueError):
    """A rule that cannot be used; the message is for the reader."""


@dataclass(frozen=True)
class Rule:
    """One rule: a plain keyword (whole words, any case) or a regular expression."""

    pattern: str
    regex: bool = False

    def compiled(self) -> re.Pattern[str]:
        """The rule as a case-insensitive pattern; raises MuteError when it is not usable."""
        return _compile(self.pattern.strip(), self.regex)


@lru_cache(maxsize=1024)
def _compile(text: str, regex: bool) -> re.Pattern[str]:
    if not text:
        raise MuteError("a mute rule cannot be empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise MuteError(f"a mute rule is limited to {MAX_PATTERN_LENGTH} characters")
    if not regex:
        keyword = normalise(text)
        if not keyword:
            raise MuteError("a mute rule cannot be only invisible characters")
        return re.compile(r"(?<!\w)" + re.escape(keyword) + r"(?!\w)", re.IGNORECASE)
    try:
        return re.compile(text, re.IGNORECASE)
    except re.error as exc:
        raise MuteError(f"not a valid regular expression: {exc}") from exc


def visible(text: str) -> str:
    """``text`` in NFKC with the invisible characters removed (and those NFKC brings out)."""
    return strip_invisible(unicodedata.normalize("NFKC", strip_invisible(text)))


def normalise(text: str) -> str:
    """What a keyword rule compares: :func:`visible` text, case-folded."""
    return visible(text).casefold()


def validate(rule: Rule) -> str | None:
    """None when ``rule`` is usable, else a sentence saying what is wrong with it."""
    try:
        rule.compiled()
    except MuteError as exc:
        return str(exc)
    return None


def apply(rules: Sequence[Rule], title: str) -> bool:
    """True when any usable rule matches ``title``; broken rules are skipped."""
    if not rules:
        return False
    shown = visible(title)
    folded = shown.casefold()
    for rule in rules:
        try:
            if rule.compiled().search(shown if rule.regex else folded):
                return True
        except MuteError:
            continue
    return False


def decode(raw: str | None) -> list[Rule]:
    """Rules from their JSON form; anything malformed is dropped, never raised."""
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except ValueError:
        log.warning("ignoring unreadable mute rules")
        return []
    rules: list[Rule] = []
    if not isinstance(data, list):
        return rules
    for item in data[:MAX_RULES]:
        if not isinstance(item, dict):
            continue
        pattern = item.get("pattern")
        regex = item.get("regex", False)
        if isinstance(pattern, str) and isinstance(regex, bool) and pattern.strip():
            rules.append(Rule(pattern.strip(), regex))
    return rules


def encode(rules: Sequence[Rule]) -> str:
    """The JSON form of ``rules``."""
    return json.dumps([{"pattern": r.pattern, "regex": r.regex} for r in rules])


matches = apply
"""Alias of :func:`apply`."""


def load_rules(s: Session) -> list[Rule]:
    """The profile's mute rules, read within an open session."""
    return decode(events.get_setting(s, SETTING_KEY))


def save_rules(s: Session, rules: Sequence[Rule]) -> None:
    """Replace the profile's mute rules within a write session; raises MuteError when one is
    not usable."""
    if len(rules) > MAX_RULES:
        raise MuteError(f"at most {MAX_RULES} mute rules")
    for rule in rules:
        rule.compiled()
    events.set_setting(s, SETTING_KEY, encode(rules))


def load(db: Database) -> list[Rule]:
    """The profile's mute rules."""
    with db.read() as s:
        return load_rules(s)


def save(db: Database, rules: Sequence[Rule]) -> None:
    """Replace the profile's mute rules; raises MuteError when one is not usable."""
    with db.write() as s:
        save_rules(s, rules)
