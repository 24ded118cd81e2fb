"""One story once, headless: after a refresh, `list --json` shows a wire story once, with the
other feed in `also_in`."""

from __future__ import annotations

import json
from email.utils import formatdate
from pathlib import Path

import pytest

from app.cli import main
from harness.server import LocalServer, Reply

WIRE = (
    "Rescue teams reached the village cut off by the landslide after crews cleared the "
    "mountain road overnight, regional officials said on Monday."
)


def _feed(title: str, items: list[tuple[str, str, str]]) -> bytes:
    date = formatdate(usegmt=True)
    body = "".join(
        f"<item><guid>{guid}</guid><title>{headline}</title>"
        f"<link>https://{title.lower()}.example/{guid}</link><pubDate>{date}</pubDate>"
        f"<description>{text}</description></item>"
        for guid, headline, text in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"{body}</channel></rss>"
    ).encode()


def test_list_json_carries_also_in(
    http_server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    http_server.route(
        "/bbc.xml", Reply(body=_feed("BBC", [("a", "Landslide village reached", WIRE)]))
    )
    reuters = [("b", "Rescuers reach landslide village", WIRE), ("c", "Markets", "Shares rose.")]
    http_server.route("/reuters.xml", Reply(body=_feed("Reuters", reuters)))
    for path in ("/bbc.xml", "/reuters.xml"):
        assert main(["--data-dir", str(tmp_path), "add", http_server.url(path)]) == 0
    assert main(["--data-dir", str(tmp_path), "refresh"]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(tmp_path), "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_title = {row["title"]: row for row in rows}
    assert len(rows) == 2  # the Reuters copy is folded into the BBC row
    folded = (
        by_title.get("Landslide village reached") or by_title["Rescuers reach landslide village"]
    )
    other = "Reuters" if folded["feed"] == "BBC" else "BBC"
    assert folded["also_in"] == [other]
    assert by_title["Markets"]["also_in"] == []


def test_unfold_shows_the_copies_apart(
    http_server: LocalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    http_server.route(
        "/bbc.xml", Reply(body=_feed("BBC", [("a", "Landslide village reached", WIRE)]))
    )
    reuters = [("b", "Rescuers reach landslide village", WIRE)]
    http_server.route("/reuters.xml", Reply(body=_feed("Reuters", reuters)))
    home = ["--data-dir", str(tmp_path)]
    for path in ("/bbc.xml", "/reuters.xml"):
        assert main([*home, "add", http_server.url(path)]) == 0
    assert main([*home, "refresh"]) == 0
    capsys.readouterr()
    assert main([*home, "list", "--json"]) == 0
    [folded] = json.loads(capsys.readouterr().out)
    assert main([*home, "unfold", str(folded["id"]), "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["article_id"] == folded["id"] and len(done["articles"]) == 2
    assert main([*home, "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 2 and all(row["also_in"] == [] for row in rows)
    assert main([*home, "unfold", str(folded["id"])]) == 1  # not folded any more
    assert "not folded" in capsys.readouterr().err
