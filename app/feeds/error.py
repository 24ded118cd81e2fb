"""What a failed fetch tells the reader: :class:`FetchError`, network failures put into words,
the server's Retry-After, and addresses with their passwords redacted for logs and messages."""

from __future__ import annotations

import email.utils
import socket
import ssl
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx

from app.storage.error import HeedfulError

_MAX_RETRY_AFTER = 30 * 24 * 3600.0


class FetchError(HeedfulError):
    """A known fetch failure, described in ``message`` (one line for the reader).

    ``retry_after`` is the server's Retry-After in seconds when it sent one.
    ``status`` is the HTTP status when the server answered with an error.
    """

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.status = status


def redact(url: str) -> str:
    """Return ``url`` without user name or password, fit for logs and messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid address>"
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, "***@" + host, parts.path, parts.query, parts.fragment))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta seconds or an HTTP date)."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), _MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(delta, 0.0), _MAX_RETRY_AFTER)


def describe_network_error(exc: httpx.HTTPError) -> str:
    """Put an httpx transport failure into words."""
    if isinstance(exc, httpx.TimeoutException):
        return "the server did not answer in time"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return "the server's name could not be resolved"
        if isinstance(cause, ConnectionRefusedError):
            return "the server refused the connection"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"the server's certificate is not valid ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return "the secure connection failed"
        cause = cause.__cause__ or cause.__context__
    text = str(exc).lower()
    if "name or service not known" in text or "nodename nor servname" in text:
        return "the server's name could not be resolved"
    if "connection refused" in text:
        return "the server refused the connection"
    if "ssl" in text or "certificate" in text:
        return "the secure connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server sent an invalid response"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "the address is not valid"
    return "the connection failed"
