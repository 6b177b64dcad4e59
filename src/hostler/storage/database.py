"""Database connections: engines for a URL, transactions, driver errors, and migrations.

This is the only storage module that knows which database it talks to. SQLite (the embedded
default) gets WAL, ``synchronous=NORMAL``, foreign keys, a 10 s busy timeout, and transactions
that begin with ``BEGIN IMMEDIATE`` when they will write, so that two writers queue on the file
lock instead of deadlocking while upgrading a read lock. Other URLs (``postgresql+psycopg://``)
get a plain engine.
"""

from __future__ import annotations

import contextlib
import pathlib
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import alembic.command
import alembic.config
import sqlalchemy as sa
import sqlalchemy.exc

from hostler.core import errors

MIGRATIONS = pathlib.Path(__file__).parent / "migrations"
"""Where the Alembic environment and revisions live."""

BUSY_TIMEOUT_MS = 10_000
"""How long an SQLite connection waits for the file lock before it gives up."""

_WRITE = "hostler_write"
"""Execution option on a Connection: True (the default) when its transaction will write."""

Transaction = contextlib.AbstractContextManager[sa.Connection]
"""What ``transaction`` returns: a context manager that yields the Connection."""

# SQLite's busy handler polls with sleeps of up to 100 ms, so threads of one process that compete
# for the write lock wait far longer than they need to. They queue on this lock instead; other
# processes still meet at the file lock, under busy_timeout.
_WRITERS: weakref.WeakKeyDictionary[sa.Engine, threading.Lock] = weakref.WeakKeyDictionary()

_HINT = "check that the database is reachable and not overloaded, then retry"


def connect(url: str) -> sa.Engine:
    """Return an engine for ``url``: ``sqlite:///path`` or a server URL such as PostgreSQL's.

    Raises InvalidArgument for a URL that cannot be parsed or an in-memory SQLite database (each
    pooled connection would see its own empty database), and Unavailable when the directory of
    the SQLite file cannot be created.
    """
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise errors.InvalidArgument(
            f"database URL '{url}': not a valid URL",
            field="url",
            hint="write it like 'sqlite:///var/lib/hostler/hostler.db'",
        ) from exc
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, pool_pre_ping=True)
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        raise errors.InvalidArgument(
            f"database URL '{url}': an in-memory SQLite database cannot be shared",
            field="url",
            hint="give a file path such as 'sqlite:///hostler.db'",
        )
    try:
        pathlib.Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise errors.Unavailable(
            f"database '{database}': cannot create its directory ({exc.strerror})",
            hint="check the path and its permissions",
        ) from exc
    engine = sa.create_engine(parsed)
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)
    _WRITERS[engine] = threading.Lock()
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite (which would BEGIN only before DML, and always
    # DEFERRED); _sqlite_on_begin emits BEGIN itself. This is SQLAlchemy's documented recipe:
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#sqlite-transactions
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: sa.Connection) -> None:
    # A deferred transaction that reads and then writes must upgrade its lock, and SQLite answers
    # SQLITE_BUSY at once (no busy wait) when another writer got there first. IMMEDIATE takes the
    # write lock up front, so writers wait their turn under busy_timeout instead.
    write = connection.get_execution_options().get(_WRITE, True)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")


@contextlib.contextmanager
def transaction(engine: sa.Engine, *, write: bool = True) -> Iterator[sa.Connection]:
    """Open a connection and a transaction on it; commit at the end, roll back on error.

    Pass ``write=False`` for a transaction that only reads, so that on SQLite it does not wait
    for writers. Driver errors raised inside are translated (see ``translate``).
    """
    try:
        with _turn_to_write(engine, write), engine.connect() as connection:
            connection.execution_options(**{_WRITE: write})
            with connection.begin():
                yield connection
    except sa.exc.StatementError as exc:
        raise translate(exc) from exc
    except sa.exc.TimeoutError as exc:
        raise errors.Unavailable(
            "database: no connection free in the pool in time", hint=_HINT
        ) from exc


@contextlib.contextmanager
def _turn_to_write(engine: sa.Engine, write: bool) -> Iterator[None]:
    lock = _WRITERS.get(engine) if write else None
    if lock is None:
        yield
        return
    if not lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        raise errors.Unavailable("database: busy, another writer holds it too long", hint=_HINT)
    try:
        yield
    finally:
        lock.release()


def translate(exc: sa.exc.StatementError) -> errors.HostlerError:
    """Return the Hostler error for a driver error: Unavailable for connection trouble."""
    cause = exc.orig if exc.orig is not None else exc
    if isinstance(exc, sa.exc.DBAPIError) and (
        exc.connection_invalidated
        or isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    ):
        return errors.Unavailable(f"database: {cause}", hint=_HINT)
    if isinstance(exc, sa.exc.IntegrityError):
        return errors.Conflict(
            f"database: a constraint was violated ({cause})", hint="read it again and retry"
        )
    return errors.Internal(f"database: {cause}")


def migrate(url: str) -> None:
    """Bring the database at ``url`` up to the newest schema (Alembic ``upgrade head``).

    Harmless when the schema is current. On SQLite all of it runs in one ``BEGIN IMMEDIATE``
    transaction, so two processes that start at once migrate one after the other.
    """
    engine = connect(url)
    try:
        with transaction(engine) as connection:
            config = alembic.config.Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            alembic.command.upgrade(config, "head")
    finally:
        engine.dispose()
