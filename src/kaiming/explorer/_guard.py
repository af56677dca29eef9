"""Request guards of the explorer server: the ``Host`` header and cross-site API requests.

Pure functions on header strings (no web framework), so they are cheap to test exhaustively.

- :func:`parse_host` accepts exactly RFC 9110's ``host [":" port]`` with ``host`` an IPv4
  address, a bracketed IPv6 address or a DNS name, and ``port`` 0-65535; anything else
  (``localhost:evil.com``, ``127.0.0.1:80@evil.com``, a path, a space) is ``None``.
- :func:`cross_site_reason` says why a request comes from another site (a browser's
  ``Sec-Fetch-Site: cross-site``/``same-site`` or an ``Origin`` that is not the server's own), or
  ``None``. Requests without those headers (curl, scripts) are not from a browser page and pass.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = ["cross_site_reason", "parse_host"]

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_PORT = re.compile(r"[0-9]{1,5}")
_SAME = ("same-origin", "none")  # "none": the user typed the address or opened a bookmark


def parse_host(header: str) -> tuple[str, int | None] | None:
    """The ``(host, port)`` of a ``Host`` header, host lower-cased, or ``None`` if malformed.

    Example:
        >>> parse_host("LocalHost:8765"), parse_host("[::1]:80"), parse_host("127.0.0.1")
        (('localhost', 8765), ('[::1]', 80), ('127.0.0.1', None))
        >>> parse_host("localhost:evil.com"), parse_host("127.0.0.1:80@evil.com")
        (None, None)
    """
    text = header.lower()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        host, rest = text[: end + 1], text[end + 1 :]
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
    else:
        host, sep, port_text = text.partition(":")
        rest = sep + port_text
        if not _NAME.fullmatch(host):
            return None
    if not rest:
        return host, None
    if not rest.startswith(":") or not _PORT.fullmatch(rest[1:]) or int(rest[1:]) > 65535:
        return None
    return host, int(rest[1:])


def cross_site_reason(
    host_header: str, scheme: str, origin: str | None, fetch_site: str | None
) -> str | None:
    """Why a request comes from a page of another site, or ``None`` if it does not.

    ``origin`` and ``fetch_site`` are the ``Origin`` and ``Sec-Fetch-Site`` headers (``None``
    when absent); the server's own origin is ``scheme://host_header``.

    Example:
        >>> cross_site_reason("127.0.0.1:8765", "http", "http://127.0.0.1:8765", "same-origin") is None
        True
        >>> cross_site_reason("127.0.0.1:8765", "http", None, "cross-site")
        'Sec-Fetch-Site is cross-site'
        >>> cross_site_reason("127.0.0.1:8765", "http", "https://evil.example", None)
        "Origin 'https://evil.example' is not this server's 'http://127.0.0.1:8765'"
    """
    if fetch_site is not None and fetch_site.strip().lower() not in _SAME:
        return f"Sec-Fetch-Site is {fetch_site.strip().lower()}"
    if origin is not None:
        own = f"{scheme}://{host_header.strip().lower()}"
        if origin.strip().lower() != own:
            return f"Origin {origin.strip()!r} is not this server's {own!r}"
    return None
