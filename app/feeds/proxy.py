"""The fetcher's proxy: the setting's three modes ("system", "none" or a manual proxy URL),
the system's and the GNOME desktop's proxy settings, and the client transports they give."""

from __future__ import annotations

import ast
import functools
import logging
import shutil
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx

from app.feeds.error import FetchError, redact

logger = logging.getLogger(__name__)

PROXY_SYSTEM = "system"
PROXY_NONE = "none"
_PROXY_SCHEMES = ("http", "https")
_LOOPBACK = ("all://localhost", "all://127.0.0.1", "all://[::1]")


def check_proxy(setting: str) -> str:
    """``setting`` stripped when it is "system", "none" or an http(s) proxy URL with a host;
    else raise FetchError saying why."""
    text = setting.strip()
    if text in (PROXY_SYSTEM, PROXY_NONE):
        return text
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise FetchError("the proxy address is not valid") from exc
    if parts.scheme.lower() not in _PROXY_SCHEMES or not host:
        raise FetchError("the proxy must be an http:// or https:// address with a host name")
    if port == 0:
        raise FetchError("the proxy address has no valid port")
    return text


def desktop_proxies() -> dict[str, str]:
    """The GNOME desktop's manual proxy settings (read with ``gsettings``) in the form of
    ``urllib.request.getproxies``; empty when there is no such desktop, or it says "none" or
    "auto" (a PAC script, which is not supported)."""
    exe = shutil.which("gsettings") if sys.platform.startswith("linux") else None
    if exe is None:
        return {}

    def get(schema: str, key: str) -> str:
        try:
            out = subprocess.run(  # noqa: S603 - a fixed tool with fixed arguments
                [exe, "get", f"org.gnome.system.proxy{schema}", key],
                capture_output=True,
                text=True,
                timeout=2,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout.strip().strip("'") if out.returncode == 0 else ""

    if get("", "mode") != "manual":
        return {}
    found: dict[str, str] = {}
    for scheme in _PROXY_SCHEMES:
        host, port = get(f".{scheme}", "host"), get(f".{scheme}", "port")
        if host and port.isdigit() and int(port) > 0:
            found[scheme] = f"http://{host}:{port}"
    try:
        ignore = ast.literal_eval(get("", "ignore-hosts") or "[]")
    except (ValueError, SyntaxError):
        ignore = []
    if isinstance(ignore, list):
        found["no"] = ",".join(str(h) for h in ignore)
    return found


@functools.lru_cache(maxsize=1)
def _recent_desktop_proxies(minute: int) -> dict[str, str]:
    """:func:`desktop_proxies`, asked at most once a minute (each fetcher would ask again)."""
    del minute
    return desktop_proxies()


def system_proxies() -> dict[str, str | None]:
    """httpx mount patterns from the environment's proxy variables (``HTTPS_PROXY``,
    ``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``), on Windows and macOS the system's settings
    (as Python's ``urllib.request.getproxies`` reads them), and when none of those name a proxy,
    the GNOME desktop's (:func:`desktop_proxies`). A pattern maps to a proxy URL, or to None for
    a direct connection. Loopback addresses are always reached directly; a SOCKS proxy (not
    supported) is skipped with a log line, and so is a no-proxy entry in CIDR form."""
    from urllib.request import getproxies

    found = getproxies()
    if not any(found.get(k) for k in ("http", "https", "all")):
        found = _recent_desktop_proxies(int(time.monotonic() // 60))
    mounts: dict[str, str | None] = {}
    for scheme in _PROXY_SCHEMES:
        url = found.get(scheme) or found.get("all")
        if not url:
            continue
        url = url if "://" in url else f"http://{url}"
        try:
            check_proxy(url)
        except FetchError as exc:
            logger.warning("ignoring the %s proxy %s: %s", scheme, redact(url)[:200], exc)
            continue
        mounts[f"{scheme}://"] = url
    if not mounts:
        return {}
    for host in (h.strip() for h in found.get("no", "").split(",")):
        if host == "*":
            return {}
        if not host or "/" in host.split("://")[-1]:
            continue
        if "://" in host:
            mounts[host] = None
        elif ":" in host and not host.startswith("["):  # a bare IPv6 address
            mounts[f"all://[{host}]"] = None
        elif host[0].isdigit() or host.startswith("[") or host.lower() == "localhost":
            mounts[f"all://{host}"] = None
        else:  # a domain: itself and its subdomains
            mounts[f"all://*{host.lstrip('.')}"] = None
    for pattern in _LOOPBACK:
        mounts[pattern] = None
    return mounts


def proxy_mounts(setting: str) -> dict[str, httpx.BaseTransport | None]:
    """The client's transports for a proxy setting: "none" connects directly, "system" follows
    :func:`system_proxies`, anything else is a proxy URL used for every request (loopback
    included). An invalid manual URL raises FetchError. Redirects, the size cap, the deadline
    and the scheme checks are this module's own, so they hold through a proxy as without one;
    https is tunnelled (CONNECT), so the proxy never sees the feed or its certificate check."""
    choice = check_proxy(setting)
    if choice == PROXY_NONE:
        return {}
    targets = system_proxies() if choice == PROXY_SYSTEM else {"all://": choice}
    mounts: dict[str, httpx.BaseTransport | None] = {}
    for pattern, url in targets.items():
        mounts[pattern] = None if url is None else httpx.HTTPTransport(proxy=url)
    if targets:
        shown = {k: None if v is None else redact(v) for k, v in targets.items()}
        logger.debug("proxy setting %r: %s", redact(choice), shown)
    return mounts
