"""Explanations of a ranking in plain data: the ranked score in parts that add up to it, and
the words that say so.

The score the river orders by (:mod:`app.services.score`) is the model's click score plus
freshness plus feed spreading. The click score splits exactly two ways: over the title's words
(each word's share of the model's part, plus its own click bias) with the feed's bias, and over
the reader's past reads with the title's word biases and the feed's bias. The text names the
parts in order of size and says "mostly" only when the named parts carry more than half.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.services.blend import blend_line
from app.services.highlight import (
    DEFAULT,
    MIN_SCORE_PERCENT,
    HighlightRule,
    highlight,
    score_floor,
)
from app.services.number import signed

HABIT = 0.1
"""A word's click bias is named in the summary from this size on (about 10 % more often)."""
NAMED = 3
"""At most this many parts are named in the "Ranked high/low because" sentence."""
NAMED_FLOOR = 0.1
"""A part is named only when it carries at least this share of the score's |parts|."""
PAST = 3
"""How many past reads the text names."""
NO_PAST = (
    "Your past reads carry none of this score: for now “For you” ranks by the feeds and words "
    "you open alone (ClickBias)."
)
"""What the text says of the past reads when the network's part is off (ClickBias)."""
JSON_VERSION = 2
"""``explain --json`` semantics: 1 had ``click_score`` = the model's click score; 2 makes it the
ranked score (freshness and spreading included, equal to ``list``'s ``score``), moves the
model's click score to ``model_click_score`` and adds ``freshness``, ``spreading``,
``word_base``, ``history_base``, ``median``, ``standing``, ``parts`` and
``words[].highlight``."""

_WORD = re.compile(r"[\w']+", re.UNICODE)
_COMMON_WORDS = (
    "a an and are as at be by for from has have in into is it its of on or than that the "
    "their this to was were will with after over new says say said"
)
_COMMON = frozenset(_COMMON_WORDS.split())
"""Words too common to count as what a past read shares with the candidate."""


@dataclass(frozen=True)
class WordShare:
    """A title word: its attention weight, its signed share of the model's score, its own
    click bias (how much more, or less, often the reader opens titles with this word), and
    whether the river tints it (:func:`app.services.highlight.highlight`)."""

    token: str
    attention: float
    share: float
    source: bool = False
    """True for the article's feed, which the model reads as a first word."""
    bias: float = 0.0
    highlight: bool = False

    @property
    def total(self) -> float:
        """All the word moved the score by: its share and its bias."""
        return self.share + self.bias


@dataclass(frozen=True)
class PastShare:
    """A past read: its attention weight and its signed share of the score."""

    article_id: int
    title: str
    attention: float
    share: float


@dataclass(frozen=True)
class FeedShare:
    """How much more (or less) often the reader opens this feed's articles than their words
    alone predict: the model's per-feed bias, an exact share of the score of its own."""

    title: str
    share: float

    @property
    def label(self) -> str:
        """How the share is named to the reader."""
        return f"how often you open {self.title}"


@dataclass(frozen=True)
class Said:
    """A judgement of the reader's, in force, that bears on the explained article: its kind
    (:data:`app.storage.events.FEEDBACK_KINDS`), the word it names (``word_off``) and the
    sentence that says what it does to this score."""

    kind: str
    text: str
    word: str | None = None


@dataclass(frozen=True)
class Part:
    """One part of the ranked score: what it is called, its signed share, and its kind
    (``feed``, ``word``, ``words``, ``freshness``, ``spreading`` or ``base``)."""

    kind: str
    label: str
    share: float
    size: float | None = None
    """Σ |share| of the smallest parts it gathers (None: |share|), what its percentage is of."""

    @property
    def magnitude(self) -> float:
        """How much of the score the part moves, whatever the signs inside it."""
        return abs(self.share) if self.size is None else self.size


@dataclass(frozen=True)
class ArticleExplanation:
    """Why an article scores what it does.

    ``score`` is the model's click score: the words' totals (share and bias) plus the feed's
    share plus ``base`` add up to it, and so do the past reads' shares plus the words' biases
    (``lexical``), the feed's share and ``history_base``. The river orders by :attr:`ranked`,
    which adds ``freshness`` and ``spreading`` (both 0 when they were not computed).
    """

    article_id: int
    title: str
    score: float
    words: tuple[WordShare, ...]
    history: tuple[PastShare, ...]
    faithfulness_words: float | None
    faithfulness_history: float | None
    model_version: int
    feed: FeedShare | None = None
    lexical: float = 0.0
    """The title's word biases, summed."""
    freshness: float = 0.0
    spreading: float = 0.0
    above: int = 0
    """Articles of the same feed ranked above this one (what the spreading counts)."""
    allowance: float = 10.0
    """How many of the top 30 the feed may fill before the spreading weighs in fully."""
    exploring: bool = False
    """The spreading is a barely shown feed's wait under the top (``explorers`` in
    :mod:`app.services.score`)."""
    feed_title: str = ""
    """The article's feed, named when the feed has no share of its own ("" : not known)."""
    median: float | None = None
    """The median ranked score of For you's river (None: not known)."""
    base: float = 0.0
    """The part of the model's score that no title word carries (the news encoder's value
    bias, seen by the reader)."""
    history_base: float = 0.0
    """The part of the model's score that no past read carries (the user encoder's bias)."""
    age_hours: float | None = None
    ranked_score: float | None = None
    """The river's own number for :attr:`ranked` (its click part comes from the cached article
    vectors, equal to ``score`` up to float32 rounding), so that every view shows one number."""
    said: tuple[Said, ...] = ()
    """What the reader said that bears on this article (:func:`app.services.feedback.bearing`
    fills it in; empty when nothing does or it was not looked up)."""
    rankable: frozenset[str] = frozenset()
    """The title's words with a click bias of their own (content words: neither stopwords nor
    the feed), the ones "don't rank on this word" reaches; empty when not looked up."""

    @property
    def ranked(self) -> float:
        """The score the river orders by and every view shows."""
        if self.ranked_score is not None:
            return self.ranked_score
        return self.score + self.freshness + self.spreading

    @property
    def feed_share(self) -> float:
        """The feed's share of ``score`` (0 when it has none)."""
        return 0.0 if self.feed is None else self.feed.share

    @property
    def feed_part(self) -> float:
        """The feed's whole share of the score: its bias and the share of the feed's token,
        which the model reads first (what the highlight rule weighs a word beside)."""
        return self.feed_share + sum(w.total for w in self.words if w.source)

    @property
    def title_words(self) -> tuple[WordShare, ...]:
        """The words of the title itself (not the feed the model reads as a first word)."""
        return tuple(w for w in self.words if not w.source)

    def with_highlights(self, rule: HighlightRule = DEFAULT) -> ArticleExplanation:
        """The same explanation with each title word's ``highlight`` set by ``rule``."""
        title_words = self.title_words
        flags = iter(highlight([w.total for w in title_words], rule, self.feed_part))
        words = tuple(
            w if w.source else dataclasses.replace(w, highlight=next(flags)) for w in self.words
        )
        return dataclasses.replace(self, words=words)

    # -- parts -----------------------------------------------------------------------------

    def parts(self) -> list[Part]:
        """The ranked score's smallest parts, largest first; they add up to :attr:`ranked`."""
        found = [Part("word", w.token, w.total) for w in self.title_words]
        if self.feed is not None or any(w.source for w in self.words):
            found.append(Part("feed", self._feed_label(), self.feed_part))
        found += self._extras()
        return sorted(found, key=lambda p: -abs(p.share))

    def groups(self) -> list[Part]:
        """The ranked score's parts as "Why this?" tabulates them, largest first: the feed,
        the title's words together, freshness, spreading (and a constant, if any)."""
        words = self.title_words
        found = [
            Part(
                "words",
                "the title's words",
                sum(w.total for w in words),
                sum(abs(w.total) for w in words),
            )
        ]
        if self.feed is not None or any(w.source for w in self.words):
            found.append(Part("feed", self._feed_label(), self.feed_part))
        found += self._extras()
        return sorted(found, key=lambda p: -abs(p.share))

    def _feed_label(self) -> str:
        if self.feed is not None:
            return f"the feed, {self.feed.title}"
        name = next((w.token for w in self.words if w.source), "its feed")
        return f"the feed ({name})"

    def _extras(self) -> list[Part]:
        found: list[Part] = []
        if self.base:
            found.append(Part("base", "what no word carries", self.base))
        if self.freshness:
            found.append(Part("freshness", "freshness", self.freshness))
        if self.spreading:
            found.append(Part("spreading", "feed spreading", self.spreading))
        return found

    def magnitude(self) -> float:
        """Σ |part| over the smallest parts (:meth:`parts`): what percentages are of, so that
        a part has the same percentage in the text, the table and the JSON."""
        return sum(p.magnitude for p in self.parts())

    def percent(self, part: Part) -> float:
        """``part`` as a percentage of :meth:`magnitude` (0 when there is nothing)."""
        total = self.magnitude()
        return 100.0 * part.magnitude / total if total else 0.0

    # -- words -----------------------------------------------------------------------------

    def standing(self) -> str:
        """ "high" above the river's median, "low" below it, "middle" on it."""
        middle = 0.0 if self.median is None else self.median
        if self.ranked > middle:
            return "high"
        if self.ranked < middle:
            return "low"
        return "middle"

    def because(self) -> str:
        """ "Ranked high (low) because …": the largest parts that lift (pull down) the score,
        with "mostly" only when they carry more than half of it."""
        standing = self.standing()
        if standing == "middle":
            return "Ranked in the middle of your river: its parts cancel out."
        sign = 1.0 if standing == "high" else -1.0
        total = self.magnitude()
        # the base is the same for every row of the river: it never sets one above another
        pushing = [p for p in self.parts() if p.share * sign > 0 and p.kind != "base"]
        named = [p for p in pushing if total and abs(p.share) >= NAMED_FLOOR * total][:NAMED]
        named = named or pushing[:1]
        if not named:
            lifts = "pull it down less" if standing == "high" else "lift it less"
            return f"Ranked {standing}: its parts {lifts} than most articles' do."
        carried = sum(abs(p.share) for p in named)
        mostly = " mostly" if total and carried > total / 2 else ""
        names = [f"{_name(p)} ({signed(p.share, 2)}, {self.percent(p):.0f} %)" for p in named]
        return f"Ranked {standing}{mostly} because of {_join(names)}."

    def shared_words(self, past: PastShare) -> list[str]:
        """Title words this article shares with a past read (common words left out)."""
        mine = {w.token.lower() for w in self.title_words}
        theirs = {t.lower() for t in _WORD.findall(past.title)}
        return sorted((mine & theirs) - _COMMON)

    def top_past(self) -> list[PastShare]:
        """The past reads that carried the most, in the direction of the model's part."""
        sign = 1.0 if sum(h.share for h in self.history) >= 0 else -1.0
        return sorted(self.history, key=lambda h: -sign * h.share)[:PAST]

    def concentration(self) -> float:
        """The share of the past reads' Σ|share| that :meth:`top_past` carry, in percent."""
        total = sum(abs(h.share) for h in self.history)
        top = sum(abs(h.share) for h in self.top_past())
        return 100.0 * top / total if total else 0.0

    @property
    def network_on(self) -> bool:
        """Whether the network's part carries any of the score (off under ClickBias, where
        every past read's share is 0)."""
        return any(h.share for h in self.history)

    def past_line(self) -> str | None:
        """Which past reads carried the model's part, and how concentrated the history is;
        when none carries any (the network's part is off: "For you" ranks by ClickBias), that
        instead of three reads "weighing in" with nothing."""
        top = self.top_past()
        if not top:
            return None
        if not self.network_on:
            return NO_PAST
        named = []
        for h in top:
            shared = self.shared_words(h)
            also = f"; shares {', '.join(f'“{w}”' for w in shared)}" if shared else ""
            named.append(f"“{h.title}” ({signed(h.share)}{also})")
        return (
            f"Of your past reads, {_join(named)} weigh in most: {len(top)} of your "
            f"{len(self.history)} past reads carry {self.concentration():.0f} % of this part."
        )

    def spread_line(self) -> str | None:
        """What to say when no word passes the highlight rule although the words carry part
        of the score: the feed carries the row and every word's share is small beside it, or
        the model read the wording as a whole and no word stands out (the reasons a row may
        show no tint)."""
        words = self.title_words
        magnitude = sum(abs(w.total) for w in words)
        if len(words) < 2 or magnitude <= 0.0:
            return None
        total = sum(w.total for w in words)
        largest = max(abs(w.total) for w in words)
        feed = self.feed_part
        if largest < score_floor([w.total for w in words], feed):
            return (
                f"No word carries it: its {len(words)} words add {signed(total, 2)} together "
                f"beside the feed's {signed(feed, 2)}, and none carries {MIN_SCORE_PERCENT} % of "
                "the two, so none is tinted."
            )
        return (
            f"No single word carries it: its {len(words)} words add {signed(total, 2)} together, "
            f"none more than {100.0 * largest / magnitude:.0f} % of that, so none is tinted."
        )

    def habit_line(self) -> str | None:
        """The words whose own click bias lifts the score (:data:`HABIT` and up). With the
        network's part on, what they add beyond it; with it off (ClickBias: no past read
        carries anything), a word's bias is all its share, so the words "Words that carry
        it" names already are left out rather than named twice with the same figure, and
        the others are said to add to what their feeds predict, which is what they add."""
        network = self.network_on
        habits = sorted(
            (w for w in self.words if w.bias >= HABIT and (network or not w.highlight)),
            key=lambda w: -w.bias,
        )[:3]
        if not habits:
            return None
        named = ", ".join(f"“{w.token}” ({signed(w.bias)})" for w in habits)
        if network:
            return f"You open headlines with {named} more often than the model alone predicts."
        also = " also" if any(w.highlight for w in self.title_words) else ""
        return f"You{also} open headlines with {named} more often than their feeds predict."

    def summary(self) -> str:
        """Plain words: what carried the score, and how far to trust that."""
        middle = "" if self.median is None else f" (the river's median is {signed(self.median, 2)})"
        lines = [f"“{self.title}” scores {signed(self.ranked, 2)}{middle}.", self.because()]
        tinted = [w for w in self.title_words if w.highlight]
        if tinted:
            lines.append(
                "Words that carry it: "
                + ", ".join(f"{w.token} ({signed(w.total)})" for w in tinted)
                + "."
            )
        else:
            spread = self.spread_line()
            if spread is not None:
                lines.append(spread)
        past = self.past_line()
        if past is not None:
            lines.append(past)
        habit = self.habit_line()
        if habit is not None:
            lines.append(habit)
        if self.feed is not None:
            more = "more" if self.feed.share > 0 else "less"
            lines.append(
                f"You open {self.feed.title} {more} often than its headlines alone predict: "
                f"{signed(self.feed.share)}."
            )
        if self.freshness or self.spreading:
            lines.append(self._blend_line())
        lines += [said.text for said in self.said]
        lines.append(_faithfulness_words(self.faithfulness_words, self.faithfulness_history))
        return "\n".join(lines)

    def _blend_line(self) -> str:
        return blend_line(
            freshness=self.freshness,
            spreading=self.spreading,
            above=self.above,
            allowance=self.allowance,
            feed=self.feed.title if self.feed is not None else self.feed_title or "its feed",
            age_hours=self.age_hours,
            exploring=self.exploring,
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``explain --json`` (DESIGN.md contract, :data:`JSON_VERSION`).

        ``score`` is what the model makes of the title and the past reads (a·uᵀr): the words'
        shares plus ``word_base`` sum to it, and the past reads' shares plus ``history_base``
        (the parts no word, no past read carries; 0 with shares taken after self-attention);
        every past read is an article the reader opened. Each word also carries its own
        ``bias`` (``lexical`` is their sum) and ``highlight`` (whether the river tints it);
        ``feed`` is the feed's own share (null without one). ``model_click_score`` = score +
        lexical + the feed's share is the model's click score, and ``click_score`` =
        model_click_score + ``freshness`` + ``spreading`` is the score the ranking orders by,
        the one ``list`` shows. ``parts`` lists the parts of ``click_score`` by size, each
        with its percentage of the Σ|share| of the smallest parts (each word on its own).
        """
        feed = None if self.feed is None else {"title": self.feed.title, "share": self.feed.share}
        return {
            "version": JSON_VERSION,
            "article_id": self.article_id,
            "title": self.title,
            "score": self.score - self.feed_share - self.lexical,
            "word_base": self.base,
            "history_base": self.history_base,
            "lexical": self.lexical,
            "feed": feed,
            "model_click_score": self.score,
            "freshness": self.freshness,
            "spreading": self.spreading,
            "exploring": self.exploring,
            "click_score": self.ranked,
            "median": self.median,
            "standing": self.standing(),
            "parts": [
                {
                    "kind": p.kind,
                    "label": p.label,
                    "share": p.share,
                    "percent": self.percent(p),
                }
                for p in self.groups()
            ],
            "model_version": self.model_version,
            "words": [dataclasses.asdict(w) for w in self.words],
            "history": [dataclasses.asdict(h) for h in self.history],
            "faithfulness": {
                "words": self.faithfulness_words,
                "history": self.faithfulness_history,
            },
        }


def _name(part: Part) -> str:
    if part.kind == "word":
        return f"“{part.label}”"
    return part.label


def _join(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _faithfulness_words(words: float | None, history: float | None) -> str:
    def say(value: float | None) -> str:
        if value is None:
            return "not measurable"
        if value >= 0.7:
            return f"agree well ({value:.2f})"
        if value >= 0.4:
            return f"agree partly ({value:.2f})"
        return f"agree poorly ({value:.2f})"

    return (
        "Checked by removing each word or past read and re-scoring: the word shares "
        f"{say(words)}, the past-read shares {say(history)}."
    )
