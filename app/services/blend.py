"""The line of "Why this?" that says what the river adds to the model's click score:
freshness and feed spreading (:mod:`app.services.score`)."""

from __future__ import annotations

from app.services.number import signed

__all__ = ["blend_line"]


def blend_line(
    *,
    freshness: float,
    spreading: float,
    above: int,
    allowance: float,
    feed: str,
    age_hours: float | None,
    exploring: bool,
) -> str:
    """One sentence: freshness (and the age it comes from) and what the spreading did to an
    article of ``feed`` with ``above`` of its feed ranked above it and ``allowance`` the
    share of the top the feed may fill; ``exploring``: the spreading is a barely shown feed's
    wait under the top."""
    age = "" if age_hours is None else f" (published {_age(age_hours)} ago)"
    many = "article" if above == 1 else "articles"
    if spreading > 0 and exploring:
        spread = (
            f"feed spreading {signed(spreading)}: it is the best of {feed} in your river, a feed "
            "you have hardly been shown beside your others, so it waits just below your top 30 "
            "for a look; opening or passing it over teaches Heedful"
        )
    elif spreading > 0:
        spread = (
            f"feed spreading {signed(spreading)}: it is the best of {feed} in your "
            "river, a feed you keep opening, so it keeps a place in your top 30"
        )
    elif above == 0:
        spread = f"no feed spreading: it is the first of {feed} in your river"
    elif not spreading:
        spread = "no feed spreading: below your top 30 the river keeps the scores' order"
    elif above + 1 > allowance:
        spread = (
            f"feed spreading {signed(spreading)} ({above} {many} of {feed} rank "
            f"above it, more than the {allowance:.0f} a feed may fill of your top 30, "
            "so it waits just below the top)"
        )
    else:
        spread = (
            f"feed spreading {signed(spreading)} ({above} {many} of {feed} rank "
            f"above it; a feed may fill about {allowance:.0f} of your top 30)"
        )
    return f"Freshness adds {signed(freshness)}{age}; {spread}."


def _age(hours: float) -> str:
    if hours < 1:
        return f"{max(0, round(hours * 60))} min"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.0f} days"
