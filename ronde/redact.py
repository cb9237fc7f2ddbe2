"""URLs as they may be shown: in logs, error messages and ``ps``-visible text, never their secrets.

A store or broker URL may carry ``user:password@`` (InfluxDB 1.x, ``mqtt://user:pw@host``) or a
token in its query; logs are copied to journald, support tickets and backups, so every place that
logs or reports a store/broker URL passes it through ``redact_url`` first.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["MASK", "redact_url", "split_credentials"]

MASK = "***"
SECRET_PARAMS = frozenset(
    {
        "token",
        "password",
        "pass",
        "passwd",
        "pwd",
        "secret",
        "key",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "access_token",
        "u",
        "p",
    }
)


def redact_url(url: str) -> str:
    """``url`` with the user-info's password and every secret-looking query value replaced by
    ``***`` (the user name is kept: it says which account, not how to log in). A string that is not
    a URL is returned as is, a malformed one is masked whole rather than risk showing a secret."""
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        scheme = url.split("://", 1)[0]
        return f"{scheme}://{MASK}" if "@" in url or "?" in url else url
    netloc = parts.netloc
    if "@" in netloc:
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        if port is not None:
            host += f":{port}"
        user = parts.username
        netloc = f"{user}:{MASK}@{host}" if user and parts.password is not None else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe="*")
    if netloc == parts.netloc and query == parts.query:
        return url  # nothing secret: unchanged (urlunsplit would turn sqlite:///x into sqlite:/x)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``(url without user-info, user, password)``: credentials are sent as an ``Authorization``
    header, never left in a URL that an HTTP client logs (httpx logs every request's URL at INFO)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host += f":{parts.port}"
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment)), user, password
