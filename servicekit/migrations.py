"""Schema migrations: one Alembic history per service database, run by ``roster-migrate``.

Each service names its history (``SchemaHistory``): its tables and the directory of its revisions.
Revision ``0001`` of every history is the schema Roster 0.1.0 created with ``create_all``; a
database made by that release carries no version and is adopted as ``0001`` before upgrading.
Upgrades run one at a time per database (``servicekit.db.schema_lock``, an advisory lock on
PostgreSQL), so concurrent ``migrate`` runs and instances starting together are safe.

A process refuses to start on a database behind its code (``SchemaBehind`` names the command to
run); a database without any of the service's tables is new and is created at start, since there
is nothing in it to migrate.

Some data depends on code rather than on the schema (the users search index is computed by the
service's code and versioned by a constant): such ``CodeStep``s run after the upgrade, are
idempotent, and are checked at start like the schema.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from servicekit.db import database_exists, make_engine, schema_lock, shown_url

log = logging.getLogger(__name__)

_ENVIRONMENT = Path(__file__).with_name("migration_env")
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class CodeStep:
    """Data keyed by a code constant, not by a schema revision: ``is_done`` says whether the
    database matches this code, ``run`` brings it there (idempotent, may take a while)."""

    name: str
    is_done: Callable[[Connection], bool]
    run: Callable[[Engine], object]


@dataclass(frozen=True)
class SchemaHistory:
    service: str
    versions: Path  # the directory of the service's revisions
    tables: Sequence[type[SQLModel]]
    code_steps: Sequence[CodeStep] = field(default=())

    @property
    def table_names(self) -> frozenset[str]:
        return frozenset(str(model.__tablename__) for model in self.tables)

    @property
    def how_to_migrate(self) -> str:
        return (
            f"run `roster-migrate {self.service}` (or `python -m services.{self.service} migrate`) "
            "with this service's settings"
        )


class SchemaBehind(RuntimeError):
    """The database is not what this code needs; the message says what to run."""


class DataRefused(RuntimeError):
    """A data migration found rows this release's rules refuse, before it changed anything: the
    message names them and what to do before migrating again."""


def _config(history: SchemaHistory, connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_ENVIRONMENT))
    config.set_main_option("version_locations", str(history.versions))
    config.set_main_option("path_separator", "os")
    config.attributes.update(history=history, connection=connection)
    return config


def _scripts(history: SchemaHistory) -> ScriptDirectory:
    return ScriptDirectory.from_config(_config(history))


def head_revision(history: SchemaHistory) -> str:
    head = _scripts(history).get_current_head()
    assert head is not None, f"{history.versions} holds no revision"
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _comparison(history: SchemaHistory) -> dict[str, Any]:
    """Alembic's options that compare the service's own tables (reflected or in the models)."""
    names = history.table_names
    return {
        "compare_type": True,
        "include_name": lambda name, kind, _parent: kind != "table" or name in names,
        "include_object": lambda _object, name, kind, _reflected, _other: kind != "table" or name in names,
    }


def configure_context(context: Any) -> None:
    """``env.py``: migrate on the connection handed over, comparing only the service's tables (in
    tests several services' models share SQLModel's metadata)."""
    history: SchemaHistory = context.config.attributes["history"]
    connection: Connection | None = context.config.attributes["connection"]
    if connection is None:
        raise RuntimeError("Roster's migrations run through servicekit.migrations, on a connection")
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=True,  # SQLite changes a table by copying it
        template_args={"service": history.service},  # script.py.mako names the database
        **_comparison(history),
    )
    with context.begin_transaction():
        context.run_migrations()


def _baseline_tables(history: SchemaHistory) -> frozenset[str]:
    scripts = _scripts(history)
    base = scripts.get_revision(scripts.get_base() or "base")
    assert base is not None, f"{history.versions} holds no revision"
    return frozenset(base.module.BASELINE_TABLES)


def _ours(connection: Connection, history: SchemaHistory) -> set[str]:
    return set(sa.inspect(connection).get_table_names()) & (history.table_names | _baseline_tables(history))


def _adopt_release_0_1(connection: Connection, history: SchemaHistory) -> None:
    """A database Roster 0.1.0 made has the baseline's tables and no version: it is ``0001``."""
    baseline = _baseline_tables(history)
    missing = baseline - _ours(connection, history)
    if missing:
        raise SchemaBehind(
            f"the {history.service} database has some of Roster's tables but not {sorted(missing)}, and no "
            "schema version: it was not made by Roster 0.1.0 or later, so it cannot be upgraded in place"
        )
    command.stamp(_config(history, connection), _scripts(history).get_base() or "base")


def _upgrade_locked(connection: Connection, engine: Engine, history: SchemaHistory) -> str | None:
    """Returns the revision the database was at (None: new, or made by Roster 0.1.0)."""
    before = current_revision(connection)
    if before is None and _ours(connection, history):
        _adopt_release_0_1(connection, history)
    command.upgrade(_config(history, connection), "head")
    connection.commit()
    for step in history.code_steps:
        done = step.is_done(connection)
        connection.rollback()  # SQLite: the read's transaction holds the write lock the step needs
        if not done:
            log.info("%s: bringing the %s up to date", history.service, step.name)
            step.run(engine)
    return before


def upgrade(engine: Engine, history: SchemaHistory) -> str | None:
    """``migrate``: bring the database to this code's head and run its code steps. Returns the
    revision it was at."""
    with schema_lock(engine) as connection, _references_checked_after(connection):
        return _upgrade_locked(connection, engine, history)


def downgrade(engine: Engine, history: SchemaHistory, revision: str) -> None:
    """Back to ``revision``, running each later revision's ``downgrade``. Releases only migrate
    forward (``roster-migrate``); this proves a data migration's way back undoes it."""
    with schema_lock(engine) as connection, _references_checked_after(connection):
        command.downgrade(_config(history, connection), revision)
        connection.commit()


class BrokenReferences(RuntimeError):
    """An upgrade left rows referring to rows that do not exist."""


@contextmanager
def _references_checked_after(connection: Connection) -> Iterator[None]:
    """SQLite alters a column by copying its table (Alembic's batch mode) and dropping the original,
    which fails while other tables refer to it and foreign keys are enforced. SQLite's own recipe
    (https://www.sqlite.org/lang_altertable.html#otheralter): enforcement off for the upgrade, then
    one check of every reference. The pragma only works outside a transaction: before the first
    statement of this fresh connection, on the driver's connection."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
        broken = driver.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise BrokenReferences(f"rows referring to missing rows after the upgrade: {broken}")
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def migrate_exit_status(history: SchemaHistory, database_url: str) -> int:
    """``migrate`` for one service's database, as a process exit status; says what it did, and to
    which database (its URL without the password): a run with the wrong settings migrates another one."""
    said = _naming(history, database_url)
    try:
        engine = make_engine(database_url)  # a URL it cannot read, a server it cannot reach: said, below
        try:
            before = upgrade(engine, history)
        finally:
            engine.dispose()
    except (SchemaBehind, DataRefused, BrokenReferences, SQLAlchemyError) as error:
        print(f"{said}migration failed: {error}", file=sys.stderr)
        return 1
    head = head_revision(history)
    was = "already current" if before == head else f"was {before or 'unversioned or new'}"
    print(f"{said}database at schema revision {head} ({was})", flush=True)
    return 0


def _naming(history: SchemaHistory, database_url: str) -> str:
    """The start of each line ``migrate`` and ``--check`` print about a database: the service and the
    database's URL without its password."""
    return f"{history.service}: {shown_url(database_url)}: "


def ensure_ready(engine: Engine, history: SchemaHistory) -> None:
    """At start: a new database is created; one behind this code is refused (``SchemaBehind``)."""
    with schema_lock(engine) as connection:
        if _is_new(connection, history):
            _upgrade_locked(connection, engine, history)
            return
        _refuse_unless_current(connection, history)


def _is_new(connection: Connection, history: SchemaHistory) -> bool:
    """No revision and none of the service's tables: created at start, nothing in it to migrate."""
    return current_revision(connection) is None and not _ours(connection, history)


def _refuse_unless_current(connection: Connection, history: SchemaHistory) -> None:
    current, head = current_revision(connection), head_revision(history)
    run = f"{history.how_to_migrate}, then start it again"
    if current is None:
        raise SchemaBehind(
            f"the {history.service} database was made before schema migrations (Roster 0.1.0): {run}"
        )
    if _scripts(history).get_revision(current) is None:
        raise SchemaBehind(
            f"the {history.service} database is at schema revision {current}, which this release does "
            f"not know (its newest is {head}): a newer release migrated it; run that release"
        )
    if current != head:
        raise SchemaBehind(
            f"the {history.service} database is at schema revision {current}, this code needs {head}: {run}"
        )
    for step in history.code_steps:
        if not step.is_done(connection):
            raise SchemaBehind(f"the {history.service} database's {step.name} is outdated: {run}")


def check_exit_status(history: SchemaHistory, database_url: str) -> int:
    """``migrate --check``: 0 if this code can start on the database (it is current, or new: a new one
    is created at start, with nothing in it to migrate); else says why, 1. Changes nothing: no file,
    directory or database is made. Each line names the database checked, since a new one passes: a
    check run without the deployment's settings finds the default SQLite files absent."""
    said = _naming(history, database_url)
    try:
        if not database_exists(database_url):
            return _new(history, said)
        engine = make_engine(database_url)
        try:
            with engine.connect() as connection:
                if _is_new(connection, history):
                    return _new(history, said)
                _refuse_unless_current(connection, history)
        finally:
            engine.dispose()
    except (SchemaBehind, BrokenReferences, SQLAlchemyError) as error:
        print(f"{said}{error}", file=sys.stderr)
        return 1
    print(f"{said}database at schema revision {head_revision(history)}, current", flush=True)
    return 0


def _new(history: SchemaHistory, said: str) -> int:
    print(f"{said}new (no tables yet); the service creates them at start, at revision "
          f"{head_revision(history)}", flush=True)  # fmt: skip
    return 0


def unmigrated_changes(connection: Connection, history: SchemaHistory) -> list[Any]:
    """What the models have that the migrated database lacks (Alembic's autogenerate diff): empty
    when every model change has its migration."""
    context = MigrationContext.configure(connection, opts=_comparison(history))
    return list(compare_metadata(context, SQLModel.metadata))


def new_revision(engine: Engine, history: SchemaHistory, message: str) -> Path:
    """Write the next revision of ``history`` from the models' difference to ``engine``'s database
    (upgraded to head first). Developers review and edit it: autogenerate is a draft."""
    upgrade(engine, history)
    head = head_revision(history)
    with engine.connect() as connection:
        config = _config(history, connection)
        config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
        script = command.revision(config, message, autogenerate=True, rev_id=f"{int(head) + 1:04d}")
    assert script is not None and not isinstance(script, list)
    return Path(script.path)
