"""The instance database login of code servers and their run workers: rows, never the schema.

What Dagster 1.13 needs: a code server opens the instance itself, from the instance reference
the daemon sends with each sensor and schedule tick (a tenant's freshness sensor reads its
assets' events), and the runs it launches are its child processes (the default run launcher),
which write their events, run status and pool claims into the instance's tables. So the
processes that run tenant code cannot do without the instance database. The reference carries
``dagster.yaml``'s settings with the ``DAGSTER_PG_*`` variable *names*, resolved in the
process that opens it, so what a code server can do is what the login in its own environment
may do.

What is reduced here: code servers and their runs get a login of their own that may read and
change rows of Dagster's tables (``SELECT, INSERT, UPDATE, DELETE``, the sequences), and
nothing else: it owns nothing, so it cannot create, alter, drop or truncate a table, create a
schema, or reach another database's tables; it is no superuser and cannot make roles. The
daemon and the webserver keep the owner's login (``DAGSTER_PG_USER``), which creates and
migrates the tables. ``etl deploy up`` creates the login ``<database>_code`` (or uses the one
named by ``DAGSTER_PG_CODE_USER`` and ``DAGSTER_PG_CODE_PASSWORD``), gives it a new random
password at every start, and grants it those rights.

What is not reduced: Dagster's tables are not per tenant, so a tenant's code can still read and
change every tenant's run history and event log (see the README's limits).
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from etl.errors import UsageError

CODE_USER_ENV: Final = "DAGSTER_PG_CODE_USER"
CODE_PASSWORD_ENV: Final = "DAGSTER_PG_CODE_PASSWORD"
ROLE_SUFFIX: Final = "_code"
_ROLE_NAME = re.compile(r"[^a-z0-9_]+")
DML: Final = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCES: Final = "USAGE, SELECT, UPDATE"


@dataclass(frozen=True)
class CodeLogin:
    """The login code servers get; ``notes`` say what the server still lets it do."""

    user: str
    password: str
    created: bool
    notes: tuple[str, ...] = ()

    def env(self) -> dict[str, str]:
        """The instance variables of a code server's environment (the rest stay as given)."""
        return {"DAGSTER_PG_USER": self.user, "DAGSTER_PG_PASSWORD": self.password}


def default_role(database: str) -> str:
    return (_ROLE_NAME.sub("_", database.lower()) + ROLE_SUFFIX)[:63]


def prepare_code_login(env: Mapping[str, str] | None = None) -> CodeLogin:
    """Create (or take) the code servers' login and grant it the rows of Dagster's tables.

    Run as the instance's owner, after the tables exist. Raises :class:`UsageError` when the
    owner may not create the login, saying how to provide one.
    """
    import psycopg
    from psycopg import sql

    source = env if env is not None else os.environ
    given_user, given_password = source.get(CODE_USER_ENV), source.get(CODE_PASSWORD_ENV)
    if bool(given_user) != bool(given_password):
        raise UsageError(f"set both {CODE_USER_ENV} and {CODE_PASSWORD_ENV}, or neither (then "
                         "`etl deploy up` makes the code servers' login itself)")
    database = source["DAGSTER_PG_DB"]
    user = given_user or default_role(database)
    password = given_password or secrets.token_urlsafe(32)
    role = sql.Identifier(user)
    try:
        with psycopg.connect(host=source["DAGSTER_PG_HOST"], port=source["DAGSTER_PG_PORT"],
                             user=source["DAGSTER_PG_USER"],
                             password=source["DAGSTER_PG_PASSWORD"], dbname=database,
                             autocommit=True, connect_timeout=15) as conn:
            if not given_user:
                _create_or_reset(conn, user, password)
            schema = conn.execute("SELECT current_schema()").fetchone()
            target = sql.Identifier(str(schema[0]) if schema else "public")
            for statement in (
                "GRANT CONNECT ON DATABASE {db} TO {role}",
                "GRANT USAGE ON SCHEMA {schema} TO {role}",
                f"GRANT {DML} ON ALL TABLES IN SCHEMA {{schema}} TO {{role}}",
                f"GRANT {SEQUENCES} ON ALL SEQUENCES IN SCHEMA {{schema}} TO {{role}}",
                # Tables a later Dagster migration adds (made by the owner) come with the rows.
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{schema}} GRANT {DML} ON TABLES "
                "TO {role}",
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {{schema}} GRANT {SEQUENCES} ON "
                "SEQUENCES TO {role}",
            ):
                conn.execute(sql.SQL(statement).format(
                    db=sql.Identifier(database), schema=target, role=role))
            notes = _what_it_may_still_do(conn, user, str(schema[0]) if schema else "public")
    except psycopg.errors.InsufficientPrivilege as e:
        raise UsageError(
            f"the instance's login {source['DAGSTER_PG_USER']} may not create the code "
            f"servers' login {user} ({str(e).strip().splitlines()[0]}); create a login with "
            f"no rights of its own and name it in {CODE_USER_ENV} and {CODE_PASSWORD_ENV}, or "
            "give the instance's login CREATEROLE") from None
    return CodeLogin(user, password, not given_user, notes)


def _create_or_reset(conn: object, user: str, password: str) -> None:
    from psycopg import Connection, sql

    assert isinstance(conn, Connection)
    role = sql.Identifier(user)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
    verb = "ALTER" if exists else "CREATE"
    conn.execute(sql.SQL(
        verb + " ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT "
        "NOREPLICATION NOBYPASSRLS PASSWORD {password}").format(
        role=role, password=sql.Literal(password)))


def _what_it_may_still_do(conn: object, user: str, schema: str) -> tuple[str, ...]:
    """Rights the login has beyond rows, from grants to PUBLIC a server may still have."""
    from psycopg import Connection

    assert isinstance(conn, Connection)
    row = conn.execute(
        "SELECT has_schema_privilege(%s, %s, 'CREATE'), "
        "has_database_privilege(%s, current_database(), 'CREATE')",
        (user, schema, user)).fetchone()
    notes = []
    if row and row[0]:
        notes.append(f"{user} may create tables in schema {schema} (PostgreSQL before 15 lets "
                     f"every login): REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC")
    if row and row[1]:
        notes.append(f"{user} may create schemas in the instance database: REVOKE CREATE ON "
                     "DATABASE ... FROM PUBLIC")
    return tuple(notes)
