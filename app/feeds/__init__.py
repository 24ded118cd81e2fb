"""Feeds: fetch over HTTP, parse feed bytes, sanitise HTML, read and write OPML,
discover feeds in web pages. Knows nothing of storage; exchanges frozen dataclasses.

Modules: fetcher (Fetcher, FetchLimits, FetchResult; the request and its hops), proxy
(the proxy setting and the system's and desktop's proxies: check_proxy, system_proxies,
proxy_mounts), error (FetchError, redaction, Retry-After), parser (parse_feed), entry
(ParsedFeed, ParsedEntry, ParseError, dedup_key), sanitizer (sanitize_html, html_to_text,
clean_title), opml (read_opml, write_opml), discovery (discover_feeds), jsonfeed and
inflater (their helpers).
"""
