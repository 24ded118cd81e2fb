"""Fetching through a proxy: the setting's three modes, and the fetcher's safety rules
(schemes, size cap, redirects, deadline) holding through a local proxy on 127.0.0.1."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.feeds.fetcher import Fetcher, FetchError, FetchLimits
from app.feeds.proxy import check_proxy, system_proxies
from app.services import preference
from harness.server import LocalServer, Reply
from tests.e2e.conftest import http_server as http_server  # the fixture

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class Proxy:
    """A forward HTTP proxy: every request, whatever its host, goes to ``origin``."""

    def __init__(self, origin: str) -> None:
        self.origin = urlsplit(origin)
        self.seen: list[str] = []
        self.stall = 0.0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.seen.append(self.path)
                if proxy.stall:
                    time.sleep(proxy.stall)
                    return  # the client has given up by now
                target = urlsplit(self.path)
                conn = http.client.HTTPConnection(
                    proxy.origin.hostname or "127.0.0.1", proxy.origin.port, timeout=10
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
                conn.request("GET", target.path or "/", headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                self.send_response(resp.status)
                for key, value in resp.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                conn.close()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(http_server: LocalServer) -> Iterator[Proxy]:
    p = Proxy(http_server.url("/"))
    yield p
    p.close()


@pytest.fixture
def no_env_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def limits(proxy: str) -> FetchLimits:
    return FetchLimits(connect_timeout=2.0, total_timeout=3.0, proxy=proxy)


def test_a_manual_proxy_carries_every_request(
    http_server: LocalServer, proxy: Proxy, no_env_proxy: None
) -> None:
    http_server.route("/feed", Reply(body=RSS, content_type="application/rss+xml"))
    with Fetcher(limits(proxy.url)) as f:
        result = f.fetch("http://feeds.test/feed")
    assert result.body == RSS
    assert proxy.seen == ["http://feeds.test/feed"]
    assert http_server.last("/feed").headers["user-agent"].startswith("Heedful/")


def test_the_system_setting_follows_the_environment_but_not_for_loopback(
    http_server: LocalServer, proxy: Proxy, monkeypatch: pytest.MonkeyPatch, no_env_proxy: None
) -> None:
    http_server.route("/feed", Reply(body=RSS))
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("no_proxy", "intranet.test")
    with Fetcher(limits("system")) as f:
        assert f.fetch("http://feeds.test/feed").body == RSS
        assert proxy.seen == ["http://feeds.test/feed"]
        assert f.fetch(http_server.url("/feed")).body == RSS  # loopback: direct
        with pytest.raises(FetchError):
            f.fetch("http://intranet.test/feed")  # NO_PROXY: direct, and it does not resolve
    assert len(proxy.seen) == 1
    assert "all://*intranet.test" in system_proxies()


def test_none_ignores_the_environment(
    proxy: Proxy, monkeypatch: pytest.MonkeyPatch, no_env_proxy: None
) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)
    with Fetcher(limits("none")) as f, pytest.raises(FetchError, match=r"resolved|connection"):
        f.fetch("http://feeds.test/feed")
    assert proxy.seen == []


def test_redirect_rules_hold_through_the_proxy(
    http_server: LocalServer, proxy: Proxy, no_env_proxy: None
) -> None:
    http_server.route(
        "/file", Reply(status=302, body=b"", headers={"Location": "file:///etc/passwd"})
    )
    http_server.route("/loop", Reply(status=302, body=b"", headers={"Location": "/loop"}))
    with Fetcher(FetchLimits(total_timeout=3.0, max_redirects=3, proxy=proxy.url)) as f:
        with pytest.raises(FetchError, match="non-web address"):
            f.fetch("http://feeds.test/file")
        with pytest.raises(FetchError, match="too many redirects"):
            f.fetch("http://feeds.test/loop")
    assert proxy.seen.count("http://feeds.test/loop") == 4  # the first request and 3 hops


def test_size_cap_and_deadline_hold_through_the_proxy(
    http_server: LocalServer, proxy: Proxy, no_env_proxy: None
) -> None:
    http_server.route("/big", Reply(body=b"x" * (300 * 1024)))
    with (
        Fetcher(FetchLimits(max_bytes=100 * 1024, proxy=proxy.url)) as f,
        pytest.raises(FetchError, match="larger than"),
    ):
        f.fetch("http://feeds.test/big")
    proxy.stall = 1.5
    with (
        Fetcher(FetchLimits(total_timeout=0.5, proxy=proxy.url)) as f,
        pytest.raises(FetchError, match="in time"),
    ):
        f.fetch("http://feeds.test/big")


def test_scheme_rules_hold_with_a_proxy(proxy: Proxy) -> None:
    with Fetcher(FetchLimits(proxy=proxy.url)) as f, pytest.raises(FetchError, match="only http"):
        f.fetch("ftp://feeds.test/feed")
    assert proxy.seen == []


@pytest.mark.parametrize(
    "bad", ["socks5://127.0.0.1:1080", "ftp://proxy", "http://", "proxy:3128", "http://h:0"]
)
def test_an_unusable_proxy_setting_is_refused_in_words(bad: str) -> None:
    with pytest.raises(FetchError, match="proxy"):
        check_proxy(bad)
    prefs = preference.Preferences(proxy=bad)
    assert any("proxy" in p for p in preference.problems(prefs))


def test_the_proxy_setting_is_stored_and_used_for_fetching(tmp_path: object) -> None:
    from pathlib import Path

    from app.services.profile import Profile

    with Profile(Path(str(tmp_path))) as profile:
        assert preference.fetch_limits(profile.db).proxy == "system"
        preference.save(profile.db, preference.Preferences(proxy="http://proxy.test:3128"))
        assert preference.fetch_limits(profile.db).proxy == "http://proxy.test:3128"


GSETTINGS = """#!/bin/sh
case "$2 $3" in
  "org.gnome.system.proxy mode") echo "'manual'" ;;
  "org.gnome.system.proxy.http host") echo "'proxy.lan'" ;;
  "org.gnome.system.proxy.http port") echo "3128" ;;
  "org.gnome.system.proxy.https host") echo "''" ;;
  "org.gnome.system.proxy.https port") echo "0" ;;
  "org.gnome.system.proxy ignore-hosts") echo "['localhost', '127.0.0.0/8', 'intra.lan']" ;;
  *) exit 1 ;;
esac
"""


def test_the_system_setting_reads_the_gnome_desktop_when_the_environment_has_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_env_proxy: None
) -> None:
    from app.feeds import proxy

    tool = tmp_path / "gsettings"
    tool.write_text(GSETTINGS, encoding="utf-8")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(proxy.sys, "platform", "linux")
    assert proxy.desktop_proxies() == {
        "http": "http://proxy.lan:3128",
        "no": "localhost,127.0.0.0/8,intra.lan",
    }
    proxy._recent_desktop_proxies.cache_clear()
    mounts = system_proxies()
    proxy._recent_desktop_proxies.cache_clear()
    assert mounts["http://"] == "http://proxy.lan:3128"
    assert "https://" not in mounts
    assert mounts["all://*intra.lan"] is None and mounts["all://localhost"] is None
    assert not any("/8" in k for k in mounts)
