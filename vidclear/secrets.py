"""Credentials in camera URLs never reach logs, errors, metrics or summaries."""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import ConfigError

# scheme://user:password@host  or  scheme://user@host, and the same mistyped or collapsed by a path
# (scheme:/, scheme//, scheme/: "rtsp//viewer:pw@host" read as a file name is "rtsp/viewer:pw@host")
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*(?::/{1,2}|/{1,2}))(?P<user>[^/@\s:]*)"
                          r"(?::(?P<pw>[^/@\s]*))?@")


def redact(text: str) -> str:
    """Replace every password in URLs inside ``text`` with ***."""
    return _CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{m.group('user')}{':***' if m.group('pw') is not None else ''}@", text)


def with_password(url: str, password_env: str | None) -> str:
    """Put the password from an environment variable into the URL (it is never stored in the config)."""
    if not password_env:
        return url
    password = os.environ.get(password_env)
    if password is None:
        raise ConfigError(f"environment variable {password_env} (the password for {redact(url)}) is not set")
    parts = urlsplit(url)
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"{quote(user, safe='')}:{quote(password, safe='')}@{host}", parts.path,
                       parts.query, parts.fragment))


class RedactingFilter(logging.Filter):
    """A logging filter that redacts URL credentials in every record (message and arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(str(record.getMessage()))
        record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
