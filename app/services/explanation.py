"""Explanations of a ranking in plain data: word and past-read shares that add up to the score."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EVEN = 0.05
"""Past-read shares that all lie within this fraction of the largest one are "about equal"."""
HABIT = 0.1
"""A word's click bias is named in the summary from this size on (about 10 % more often)."""


@dataclass(frozen=True)
class WordShare:
    """A title word: its attention weight, its signed share of the model's score, and its own
    click bias (how much more, or less, often the reader opens titles with this word)."""

    token: str
    attention: float
    share: float
    source: bool = False
    """True for the article's feed, which the model reads as a first word."""
    bias: float = 0.0

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
class ArticleExplanation:
    """Why an article scores what it does.

    The words' totals (share and bias) plus the feed's share add up to ``score``, and so do
    the past reads' shares plus the words' biases (``lexical``) and the feed's share (``feed``
    is None when the feed has no bias of its own).
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

    def as_dict(self) -> dict[str, Any]:
        """The JSON of ``explain --json`` (DESIGN.md contract).

        ``score`` is what the model makes of the title and the past reads, so that each list
        of shares sums to it and every past read is an article the reader opened; each word
        also carries its own ``bias`` and ``lexical`` is their sum; ``feed`` is the feed's own
        share (null without one) and ``click_score`` = score + lexical + the feed's share, the
        score the ranking uses.
        """
        feed = None if self.feed is None else {"title": self.feed.title, "share": self.feed.share}
        return {
            "article_id": self.article_id,
            "title": self.title,
            "score": self.score - self.feed_share - self.lexical,
            "lexical": self.lexical,
            "feed": feed,
            "click_score": self.score,
            "model_version": self.model_version,
            "words": [w.__dict__ for w in self.words],
            "history": [h.__dict__ for h in self.history],
            "faithfulness": {
                "words": self.faithfulness_words,
                "history": self.faithfulness_history,
            },
        }

    @property
    def feed_share(self) -> float:
        """The feed's share of ``score`` (0 when it has none)."""
        return 0.0 if self.feed is None else self.feed.share

    def summary(self) -> str:
        """Plain words: what carried the score, and how far to trust that."""
        lines = [f"“{self.title}” scores {self.score:+.3f}."]
        past = sorted(self.history, key=lambda h: -h.share)[:3]
        shares = [h.share for h in self.history]
        if len(shares) > 3 and max(shares) - min(shares) <= EVEN * max(map(abs, shares)):
            # naming three of many equal shares would single out reads the model did not
            each = sum(shares) / len(shares)
            lines.append(
                f"Your {len(shares)} past reads weigh in about equally ({each:+.3f} each); "
                "no single one stands out."
            )
        elif past and past[0].share > 0:
            names = "; ".join(f"“{h.title}” ({h.share:+.3f})" for h in past if h.share > 0)
            lines.append(f"Ranked high mostly because you read {names}.")
        words = sorted(self.words, key=lambda w: -abs(w.total))[:5]
        if words:
            lines.append(
                "Words that carried it: "
                + ", ".join(f"{w.token} ({w.total:+.3f})" for w in words)
                + "."
            )
        habits = sorted((w for w in self.words if w.bias >= HABIT), key=lambda w: -w.bias)[:3]
        if habits:
            lines.append(
                "You open headlines with "
                + ", ".join(f"“{w.token}” ({w.bias:+.3f})" for w in habits)
                + " more often than the model alone predicts."
            )
        if self.feed is not None:
            more = "more" if self.feed.share > 0 else "less"
            lines.append(
                f"You open {self.feed.title} {more} often than its headlines alone predict: "
                f"{self.feed.share:+.3f}."
            )
        lines.append(_faithfulness_words(self.faithfulness_words, self.faithfulness_history))
        return "\n".join(lines)


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
