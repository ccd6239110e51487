"""Credentials written into a source URL, however encoded: found, so the config can refuse them.

A tenant's ``source.url`` names a server, never a secret: passwords come from the variable in
``password_env``. A driver takes credentials in many places, though: the user info
(``etl:pw@``), query parameters (``?password=``, ``?sslpassword=``, an access token), files it
reads (a libpq service or password file, a MySQL option file, which may hold *another* tenant's
password) and connection strings inside a parameter (``odbc_connect``). Keys are percent-decoded
until they no longer change, so ``pass%77ord`` or ``pass%2577ord`` is a password too.

The generic names apply to every dialect; a dialect whose driver knows more adds them in
:data:`DIALECT_KEYS`, one line per SQLAlchemy backend name. This lives apart from the dialect
modules because the config loader checks URLs while a code location loads, which must not
import SQLAlchemy (the dialect modules do).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote, unquote_plus

GENERIC_KEYS: Final = frozenset({
    "password", "passwd", "pwd", "pass", "secret", "token", "sslpassword", "passcode",
    "accesskey", "accesskeyid", "secretkey", "secretaccesskey", "sessiontoken", "apikey",
    "privatekey", "privatekeyfile", "privatekeyfilepwd", "privatekeypassphrase", "credential",
    "credentials", "clientsecret", "authtoken", "accesstoken", "refreshtoken",
})
"""Query parameters (normalised: lower case without ``_``, ``-``, ``.``) that carry a secret."""
GENERIC_PARTS: Final = ("password", "passwd", "secret", "token", "apikey", "privatekey",
                        "accesskey", "credential")
"""A parameter whose normalised name contains one of these is a credential as well."""
DIALECT_KEYS: Final[Mapping[str, frozenset[str]]] = {
    # libpq: a service or password file can hold the password of any server on the machine.
    "postgresql": frozenset({"service", "servicefile", "passfile", "sslkey"}),
    # MySQL drivers read option files, which hold passwords, and a client key.
    "mysql": frozenset({"readdefaultfile", "readdefaultgroup", "sslkey", "defaultsfile"}),
    "mariadb": frozenset({"readdefaultfile", "readdefaultgroup", "sslkey", "defaultsfile"}),
    "oracle": frozenset({"walletpassword", "walletlocation", "configdir"}),
}
CONNECTION_STRING_KEYS: Final[Mapping[str, frozenset[str]]] = {
    # pyodbc: a whole ODBC connection string, whose PWD= is the password.
    "mssql": frozenset({"odbcconnect"}),
}
"""Parameters whose value is itself a ``key=value;...`` connection string, checked the same way."""
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)(?:\+[A-Za-z0-9_]+)?://")
_MAX_DECODES: Final = 10


@dataclass(frozen=True)
class UrlCredential:
    """Where a URL carries a credential: ``user info`` or a query parameter, and the URL with
    every such value replaced by ``***``."""

    where: str
    masked: str


def normalize_key(key: str) -> str:
    """A parameter name as drivers compare it: decoded until stable, lower case, no
    separators."""
    for _ in range(_MAX_DECODES):
        decoded = unquote(key)
        if decoded == key:
            break
        key = decoded
    return re.sub(r"[\s_.\-]", "", key).lower()


def _decoded(text: str) -> str:
    for _ in range(_MAX_DECODES):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def is_credential_key(key: str, backend: str) -> bool:
    name = normalize_key(key)
    return (name in GENERIC_KEYS or name in DIALECT_KEYS.get(backend, frozenset())
            or any(part in name for part in GENERIC_PARTS))


def url_credential(url: str) -> UrlCredential | None:
    """The first credential ``url`` carries (user info, then query), or None."""
    found = _SCHEME.match(url)
    backend = found.group(1).lower() if found else ""
    rest = url[found.end():] if found else url
    authority, tail = _split_authority(rest)
    where = ""
    userinfo, at, hostport = authority.rpartition("@")
    if at and ":" in _decoded(userinfo):
        # An encoded ':' leaves no user name to show apart from the password: mask it all.
        authority = (f"{userinfo.split(':', 1)[0]}:***@{hostport}" if ":" in userinfo
                     else f"***@{hostport}")
        where = "user info"
    path, question, query = tail.partition("?")
    query, hash_mark, fragment = query.partition("#")
    pairs = []
    for pair in query.split("&") if question else []:
        key, equals, value = pair.partition("=")
        if equals and _is_credential(key, value, backend):
            where = where or f"query parameter {key!r}"
            value = "***"
        pairs.append(f"{key}{equals}{value}")
    if not where:
        return None
    masked = (f"{url[:found.end()] if found else ''}{authority}{path}{question}"
              f"{'&'.join(pairs)}{hash_mark}{fragment}")
    return UrlCredential(where, masked)


def _split_authority(rest: str) -> tuple[str, str]:
    """``user@host:port`` and what follows it (from the first ``/``, ``?`` or ``#``)."""
    cut = min((i for i in (rest.find("/"), rest.find("?"), rest.find("#")) if i >= 0),
              default=len(rest))
    return rest[:cut], rest[cut:]


def _is_credential(key: str, value: str, backend: str) -> bool:
    if is_credential_key(unquote_plus(key), backend):
        return True
    if normalize_key(unquote_plus(key)) in CONNECTION_STRING_KEYS.get(backend, frozenset()):
        inner = _decoded(value)
        return any(is_credential_key(part.partition("=")[0], backend)
                   for part in inner.split(";") if "=" in part)
    return False
