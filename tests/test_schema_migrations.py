"""Schema migrations on SQLite and PostgreSQL: databases made by Roster 0.1.0's own code (checked
out of git) upgrade in place and keep working; every model change has its migration; concurrent
``migrate`` runs are safe; a process refuses a database behind its code and says what to run."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import Engine, Table, text
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

from contracts.teams import CreatePortalTeam, GetTeam, TeamReply
from contracts.users import CreateUser, GetUser, ListUsers, UserPage, UserProfile, UserReply
from servicekit import migrations
from servicekit.db import make_engine, shown_url
from services.gateway import store as gateway_store
from services.migrate import DATABASES, Target
from services.migrate import app as migrate_cli
from services.teams.tests.conftest import TeamsHarness
from services.users.tests.conftest import UsersHarness
from tests.service_databases import SERVICES, database_variables

ROOT = Path(__file__).resolve().parents[1]
RELEASE_0_1 = "ec54425c91af48b0e993acbb47b776eca5257652"
"""The commit tagged ``v0.1.0``: the schema baseline (revision 0001 of every history)."""

# Run by Roster 0.1.0's code, in its own tree: creates the databases as its processes did at start
# (``prepare_database`` with the users backfills) and writes through its handlers and stores.
_SEED_WITH_RELEASE_0_1 = """
import json, sys
from pathlib import Path
from uuid import uuid4
from sqlmodel import Session, SQLModel
import servicekit
from contracts.teams import CreatePortalTeam
from contracts.users import CreateUser, EnterpriseInfo, RosterRole, UserProfile
from servicekit.db import make_engine, prepare_database
from servicekit.messaging import MESSAGING_TABLES
from services.gateway import store as gateway
from services.seats.app import DEFINITION as SEATS
from services.teams.app import DEFINITION as TEAMS
from services.teams.tests.conftest import TeamsHarness
from services.users.app import DEFINITION as USERS
from services.users.tests.conftest import UsersHarness
from tests.service_databases import SERVICES, database_variables

assert Path(servicekit.__file__).is_relative_to(Path.cwd()), servicekit.__file__
urls = json.loads(sys.argv[1])
engines = {name: make_engine(url) for name, url in urls.items()}
for name, definition in (("users", USERS), ("seats", SEATS), ("teams", TEAMS)):
    prepare_database(engines[name], [*definition.tables, *MESSAGING_TABLES], then=definition.prepare)
prepare_database(engines["gateway"], gateway.GATEWAY_TABLES)

users = UsersHarness(engines["users"], engines["seats"])
users.set_seat_limit(10)
coach = CreateUser(
    user_id=str(uuid4()),
    profile=UserProfile(user_name="coach@acme.example", roster_role=RosterRole.COACH),
)
report = CreateUser(
    user_id=str(uuid4()),
    profile=UserProfile(
        user_name="report@acme.example", enterprise=EnterpriseInfo(manager_ref="coach@acme.example")
    ),
)
users.send(coach)
users.send(report)
team = CreatePortalTeam(team_id=str(uuid4()), display_name="Sales West", member_ids=(report.user_id,))
TeamsHarness(engines["teams"]).send(team)
with Session(engines["gateway"]) as session, session.begin():
    tenant = gateway.create_tenant(session, name="Acme")
    token = gateway.issue_token(session, tenant_id=tenant.id)
    tenant_id = tenant.id
print(json.dumps({"coach": coach.user_id, "report": report.user_id, "team": team.team_id,
                  "tenant": tenant_id, "token": token}))
"""


@pytest.fixture(scope="session")
def release_0_1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Roster 0.1.0's code, out of this repository's history."""
    tree = tmp_path_factory.mktemp("roster-0.1.0")
    archive = tree / "release.tar"
    paths = ["contracts", "servicekit", "services"]
    subprocess.run(["git", "archive", "-o", str(archive), RELEASE_0_1, *paths], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _run(args: list[str], databases: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        env={**os.environ, **database_variables(databases), **extra},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def engines(databases: dict[str, str]) -> Iterator[dict[str, Engine]]:
    made = {name: make_engine(url) for name, url in databases.items()}
    yield made
    for engine in made.values():
        engine.dispose()


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return migrations.current_revision(connection)


@pytest.mark.slow
def test_a_release_0_1_database_upgrades_in_place_and_keeps_working(
    release_0_1: Path, databases: dict[str, str], engines: dict[str, Engine]
) -> None:
    seeded = subprocess.run(
        [sys.executable, "-c", _SEED_WITH_RELEASE_0_1, json.dumps(databases)],
        cwd=release_0_1,
        env={**os.environ, "PYTHONPATH": str(release_0_1)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    made = json.loads(seeded.stdout.splitlines()[-1])
    # As if written before manager resolution existed: the data migration resolves and announces them.
    with engines["users"].begin() as connection:
        connection.execute(text("DELETE FROM user_managers"))
        connection.execute(text("DELETE FROM manager_defaults"))
        announced_before = connection.execute(text("SELECT count(*) FROM outbox")).scalar_one()

    refused = _run([sys.executable, "-m", "services.users"], databases, KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1")
    assert refused.returncode == 3, refused.stderr
    assert "made before schema migrations" in refused.stderr
    assert "run `roster-migrate users` (or `python -m services.users migrate`)" in refused.stderr

    migrated = CliRunner().invoke(migrate_cli, ["all"], env=database_variables(databases))
    assert migrated.exit_code == 0, migrated.output
    for name in SERVICES:
        history, _ = DATABASES[Target(name)]
        assert _revision(engines[name]) == migrations.head_revision(history)
        assert f"{name}: {shown_url(databases[name])}: database at schema revision" in migrated.output

    users = UsersHarness(engines["users"], engines["seats"])
    coach = users.ask(GetUser(user_id=made["coach"]), tenant="acme")
    report = users.ask(GetUser(user_id=made["report"]), tenant="acme")
    assert isinstance(coach, UserReply) and isinstance(report, UserReply)
    assert report.user.manager_id == made["coach"]  # resolved again by the data migration
    with engines["users"].connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM outbox")).scalar_one() > announced_before
    found = users.ask(ListUsers(filter='userName eq "REPORT@acme.example"'), tenant="acme")
    assert isinstance(found, UserPage) and [u.id for u in found.users] == [made["report"]]
    newcomer = CreateUser(user_id=str(uuid4()), profile=UserProfile(user_name="new@acme.example"))
    assert isinstance(users.send(newcomer), UserReply)
    assert isinstance(users.ask(GetUser(user_id=newcomer.user_id)), UserReply)

    teams = TeamsHarness(engines["teams"])
    team = teams.send(GetTeam(team_id=made["team"], any_source=True))
    assert isinstance(team, TeamReply) and [m.user_id for m in team.team.members or ()] == [made["report"]]
    assert isinstance(teams.send(CreatePortalTeam(team_id=str(uuid4()), display_name="East")), TeamReply)

    with Session(engines["gateway"]) as session, session.begin():
        assert gateway_store.tenant_for_token(session, token=made["token"]) == made["tenant"]
        gateway_store.create_tenant(session, name="Globex")
        with pytest.raises(gateway_store.TenantNameTaken):  # the name key was computed for 0.1's tenants
            gateway_store.create_tenant(session, name="ACME")


@pytest.mark.parametrize("name", SERVICES)
def test_every_model_change_has_its_migration(name: str, database_url: str) -> None:
    history, _ = DATABASES[Target(name)]
    engine = make_engine(database_url)
    try:
        migrations.upgrade(engine, history)
        with engine.connect() as connection:
            assert migrations.unmigrated_changes(connection, history) == []
    finally:
        engine.dispose()


def test_a_model_change_without_its_migration_is_found(tmp_path: Path) -> None:
    history, _ = DATABASES[Target.USERS]
    engine = make_engine(f"sqlite:///{tmp_path / 'users.db'}")
    try:
        migrations.upgrade(engine, history)
        with engine.begin() as connection:  # as if the model had gained this index after the release
            connection.execute(text("DROP INDEX ix_users_tenant"))
        with engine.connect() as connection:
            [change] = migrations.unmigrated_changes(connection, history)
        assert change[0] == "add_index" and change[1].name == "ix_users_tenant"
    finally:
        engine.dispose()


def test_a_new_revision_is_written_for_a_model_change_and_closes_it(tmp_path: Path) -> None:
    """What a developer does after changing a model: autogenerate the next revision, which then
    upgrades the database to what the models say."""
    history, _ = DATABASES[Target.USERS]
    versions = tmp_path / "versions"
    shutil.copytree(history.versions, versions, ignore=shutil.ignore_patterns("__pycache__"))
    drafted = dataclasses.replace(history, versions=versions)
    engine = make_engine(f"sqlite:///{tmp_path / 'users.db'}")
    try:
        migrations.upgrade(engine, drafted)
        with engine.begin() as connection:  # the database as it was before the model gained the index
            connection.execute(text("DROP INDEX ix_users_tenant"))
        written = migrations.new_revision(engine, drafted, "index users by tenant")
        assert written.parent == versions
        assert "of the users database" in written.read_text() and "ix_users_tenant" in written.read_text()
        migrations.upgrade(engine, drafted)
        with engine.connect() as connection:
            assert migrations.unmigrated_changes(connection, drafted) == []
    finally:
        engine.dispose()


def test_migrate_runs_at_once_take_turns(databases: dict[str, str]) -> None:
    """Three runs on their own connections, as from three hosts: one upgrades, the others wait for
    the schema lock and find nothing to do."""
    history, _ = DATABASES[Target.USERS]

    def run(_: int) -> str | None:
        engine = make_engine(databases["users"])
        try:
            return migrations.upgrade(engine, history)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(3) as pool:
        before = sorted(pool.map(run, range(3)), key=str)
    head = migrations.head_revision(history)
    assert before == [head, head, None]


def test_a_process_refuses_a_database_behind_its_code(
    databases: dict[str, str], engines: dict[str, Engine]
) -> None:
    users, _ = DATABASES[Target.USERS]
    migrations.upgrade(engines["users"], users)
    with engines["users"].begin() as connection:  # as revision 0002 left it
        connection.execute(text("DROP TABLE seat_allowances"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    with pytest.raises(migrations.SchemaBehind) as behind:
        migrations.ensure_ready(engines["users"], users)
    assert str(behind.value) == (
        "the users database is at schema revision 0002, this code needs 0005: run `roster-migrate users` "
        "(or `python -m services.users migrate`) with this service's settings, then start it again"
    )
    check = CliRunner().invoke(migrate_cli, ["users", "--check"], env=database_variables(databases))
    assert check.exit_code == 1 and "schema revision 0002, this code needs 0005" in check.output

    migrated = CliRunner().invoke(migrate_cli, ["users"], env=database_variables(databases))
    assert migrated.exit_code == 0
    assert (
        f"users: {shown_url(databases['users'])}: database at schema revision 0005 (was 0002)"
        in migrated.output
    )
    with engines["users"].begin() as connection:  # an index written by another INDEX_VERSION
        connection.execute(text("UPDATE user_search_index_state SET version = version - 1"))
    with pytest.raises(migrations.SchemaBehind, match="the users database's search index is outdated: run"):
        migrations.ensure_ready(engines["users"], users)

    gateway, _ = DATABASES[Target.GATEWAY]
    with engines["gateway"].begin() as connection:  # made by Roster 0.1.0: tables, no version
        SQLModel.metadata.create_all(connection, tables=_tables(gateway))
    with pytest.raises(
        migrations.SchemaBehind, match=r"made before schema migrations.*roster-migrate gateway"
    ):
        migrations.ensure_ready(engines["gateway"], gateway)


def test_a_new_database_is_created_at_start(engines: dict[str, Engine]) -> None:
    """Nothing to migrate in an empty database: the first instance creates it (the others wait)."""
    teams, _ = DATABASES[Target.TEAMS]
    migrations.ensure_ready(engines["teams"], teams)
    assert _revision(engines["teams"]) == migrations.head_revision(teams)
    migrations.ensure_ready(engines["teams"], teams)  # and the next start finds it current


def _tables(history: migrations.SchemaHistory) -> list[Table]:
    return [model.__table__ for model in history.tables]  # type: ignore[attr-defined]
