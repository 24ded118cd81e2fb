"""The shared nh3 cleaners clean as a call to ``nh3.clean`` with the same allowlist did, and
each thread's base address stays its own."""

from __future__ import annotations

import threading

import nh3
import pytest

from app.feeds import sanitizer
from tests.unit.feeds.test_sanitizer import EXACT, HOSTILE


def _one_call(text: str, base: str | None, allow_images: bool) -> str:
    """The sanitiser as it was: ``nh3.clean`` with a filter closed over the base."""

    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        if attr in sanitizer._URL_ATTRIBUTES:
            img = tag == "img" and attr == "src"
            schemes = sanitizer._IMAGE_SCHEMES if img else sanitizer._LINK_SCHEMES
            return sanitizer.safe_url(value, base, schemes)
        return value

    tags = set(sanitizer._TAGS) if allow_images else set(sanitizer._TAGS - {"img"})
    attributes = {t: set(a) for t, a in sanitizer._ATTRIBUTES.items() if t in tags or t == "*"}
    return nh3.clean(
        text.replace("\x00", ""),
        tags=tags,
        clean_content_tags={"script", "style", "noscript", "template", "iframe"},
        attributes=attributes,
        attribute_filter=attribute_filter,
        strip_comments=True,
        link_rel=sanitizer._LINK_REL,
        url_schemes=set(sanitizer._LINK_SCHEMES),
        url_relative="pass_through",
    )


INPUTS = [raw for raw, _ in EXACT] + list(HOSTILE)


@pytest.mark.parametrize("base", ["http://example.org/a/b", "mailto:x@y", None])
@pytest.mark.parametrize("allow_images", [True, False])
def test_shared_cleaner_equals_one_call(base: str | None, allow_images: bool) -> None:
    for raw in INPUTS:
        got = sanitizer.sanitize_html(raw, base, allow_images=allow_images)
        assert got == _one_call(raw, base, allow_images), raw


def test_each_thread_keeps_its_base() -> None:
    wrong: list[str] = []

    def run(host: str) -> None:
        for _ in range(300):
            out = sanitizer.sanitize_html('<a href="/x">x</a>', f"http://{host}/")
            if f"http://{host}/x" not in out:
                wrong.append(out)

    threads = [threading.Thread(target=run, args=(f"h{i}.org",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert sanitizer.sanitize_html('<a href="/x">x</a>') == (
        '<a rel="noopener noreferrer nofollow">x</a>'
    )  # no base left behind
