"""Feedback from "Why this?": its links give "don't rank on this word" and "fewer / more from
this feed" on the explained article, take nothing else, and the panel says it back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QTextBrowser
from pytestqt.qtbot import QtBot

from app.services.explanation import ArticleExplanation, FeedShare, Said, WordShare
from app.services.profile import Profile
from app.storage import events
from app.storage.record import ArticleRecord
from app.ui import task
from app.ui.explanation import ExplanationPanel, explanation_html, feedback_of
from app.ui.river import Role
from app.ui.window import MainWindow
from tests.gui.test_window import make_window

HOSTILE = "x\"><script>alert('1')</script>&amp;"


def _explanation(article: ArticleRecord, feed: str = "Feed 0") -> ArticleExplanation:
    words = (
        WordShare(f"from {feed}", 0.1, 0.05, source=True),
        WordShare("rocket", 0.5, 0.3, bias=0.2),
        WordShare("with", 0.1, 0.01),
        WordShare("orbit", 0.3, -0.1, bias=-0.05),
    )
    return ArticleExplanation(
        article_id=article.id,
        title=article.title,
        score=0.4,
        words=words,
        history=(),
        faithfulness_words=0.8,
        faithfulness_history=None,
        model_version=1,
        feed=FeedShare(feed, -0.2),
        lexical=0.15,
    )


def anchors(document: QTextDocument) -> list[str]:
    """Every link address in ``document``, as Qt read it back from the HTML."""
    found: list[str] = []
    block = document.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            href = it.fragment().charFormat().anchorHref()
            if href and href not in found:
                found.append(href)
            it += 1
        block = block.next()
    return found


def _body(panel: ExplanationPanel) -> QTextBrowser:
    body = panel.findChild(QTextBrowser)
    assert body is not None
    return body


def _given(w: MainWindow) -> list[tuple[str, int | None, str | None]]:
    with w.db.read() as s:
        return [(f.kind, f.feed_id, f.word) for f in events.feedback(s)]


@pytest.fixture
def explained(
    profile: Profile, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MainWindow, ArticleRecord]]:
    """A window whose "Why this?" explains the first article (a stand-in for the model)."""
    fake: list[ArticleExplanation] = []
    monkeypatch.setattr(task, "explain", lambda ranker, article_id: fake[0])
    w = make_window(profile, qtbot, count=6)
    w.river_view.setFocus()
    qtbot.keyClick(w.river_view, Qt.Key.Key_J)
    article = w.reader.article
    assert article is not None
    fake.append(_explanation(article))
    w.act_why.trigger()
    qtbot.waitUntil(lambda: "don't rank on this word" in w.explanation.text(), timeout=5000)
    yield w, article
    w.close()


def test_the_word_link_records_word_off_for_that_word(
    explained: tuple[MainWindow, ArticleRecord], qtbot: QtBot
) -> None:
    w, _ = explained
    links = anchors(_body(w.explanation).document())
    assert "heedful-feedback:word-off?w=rocket" in links
    assert not any(link.endswith("w=with") for link in links)  # a stopword has no bias
    _body(w.explanation).anchorClicked.emit(QUrl("heedful-feedback:word-off?w=rocket"))
    qtbot.waitUntil(lambda: _given(w) == [("word_off", None, "rocket")], timeout=5000)
    qtbot.waitUntil(lambda: "You said: don't rank on “rocket”" in w.explanation.text())
    assert "Noted: don't rank on “rocket”" in w.statusBar().currentMessage()
    assert "heedful-feedback:word-off?w=rocket" not in anchors(_body(w.explanation).document())


def test_fewer_from_this_feed_goes_to_the_explained_articles_feed(
    explained: tuple[MainWindow, ArticleRecord], qtbot: QtBot
) -> None:
    w, article = explained
    assert "heedful-feedback:feed-less" in anchors(_body(w.explanation).document())
    _body(w.explanation).anchorClicked.emit(QUrl("heedful-feedback:feed-less"))
    qtbot.waitUntil(lambda: _given(w) == [("feed_less", article.feed_id, None)], timeout=5000)
    qtbot.waitUntil(lambda: "You said: fewer from Feed" in w.explanation.text(), timeout=5000)
    links = anchors(_body(w.explanation).document())
    assert "heedful-feedback:feed-less" not in links and "heedful-feedback:feed-more" in links


def test_feed_links_speak_of_the_explained_article_whatever_the_reader_shows(
    explained: tuple[MainWindow, ArticleRecord], qtbot: QtBot
) -> None:
    w, article = explained
    other = next(
        a
        for row in range(w.river.rowCount())
        if isinstance(a := w.river.index(row).data(Role.ARTICLE), ArticleRecord)
        and a.feed_id != article.feed_id
    )
    w.reader.show_article(other)
    _body(w.explanation).anchorClicked.emit(QUrl("heedful-feedback:feed-more"))
    qtbot.waitUntil(lambda: _given(w) == [("feed_more", article.feed_id, None)], timeout=5000)


@pytest.mark.parametrize(
    "url",
    [
        "heedful-feedback:word-off?w=banana",  # not in the title
        "heedful-feedback:word-off?w=with",  # in the title, but no bias of its own
        "heedful-feedback:word-off?w=",
        "heedful-feedback:word-off",
        "heedful-feedback:word-off?w=%00",
        "heedful-feedback:drop-everything",
        "heedful-feedback:",
        "heedful-feedback:feed-less/../more",
        "javascript:alert(1)",
        "https://example.org/",
        "",
    ],
)
def test_other_links_record_nothing(
    explained: tuple[MainWindow, ArticleRecord], qtbot: QtBot, url: str
) -> None:
    w, _ = explained
    _body(w.explanation).anchorClicked.emit(QUrl(url))
    qtbot.wait(300)
    assert w.runner.pending() == 0
    assert _given(w) == []


def test_a_feed_without_a_part_of_its_own_still_gets_its_links() -> None:
    bare = ArticleExplanation(
        article_id=1,
        title="Rocket",
        score=0.1,
        words=(WordShare("rocket", 1.0, 0.1),),
        history=(),
        faithfulness_words=None,
        faithfulness_history=None,
        model_version=1,
    )
    assert all(group.kind != "feed" for group in bare.groups())
    page = explanation_html(bare)
    assert "heedful-feedback:feed-less" in page and "heedful-feedback:feed-more" in page


def test_links_need_the_explanation_they_came_from() -> None:
    assert feedback_of(QUrl("heedful-feedback:feed-less"), None) is None
    assert feedback_of(QUrl("heedful-feedback:feed-more"), None) is None


def test_hostile_words_and_feed_titles_are_escaped_in_the_links(qtbot: QtBot) -> None:
    e = ArticleExplanation(
        article_id=1,
        title=HOSTILE,
        score=0.5,
        words=(
            WordShare(f"from {HOSTILE}", 0.1, 0.05, source=True),
            WordShare(HOSTILE, 0.9, 0.3, bias=0.1),
        ),
        history=(),
        faithfulness_words=None,
        faithfulness_history=None,
        model_version=1,
        feed=FeedShare(HOSTILE, 0.05),
        lexical=0.1,
        rankable=frozenset({HOSTILE}),
        said=(Said("feed_more", f"You said: more from {HOSTILE}."),),
    )
    page = explanation_html(e)
    assert "<script>" not in page and 'x">' not in page
    panel = ExplanationPanel()
    qtbot.addWidget(panel)
    panel.show_explanation(e)
    links = anchors(_body(panel).document())
    assert len(links) == 2  # the word's, and "fewer from this feed" (more: already said)
    word_link = next(link for link in links if "word-off" in link)
    assert feedback_of(QUrl(word_link), e) == ("word_off", HOSTILE)
    with qtbot.waitSignal(panel.feedback_asked, timeout=1000) as asked:
        _body(panel).anchorClicked.emit(QUrl(word_link))
    assert asked.args == ["word_off", HOSTILE]
    assert "<script>" in panel.text()  # shown as text, never markup
