"""Out-of-order and redelivered events never leave a membership wrong.

Events about one user keep their order (Kafka key tenant:user id); everything else — other users'
events, group membership commands, redeliveries of anything already delivered — interleaves freely.
Whatever the interleaving, the teams must end as the rules say for the final state of each user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.envelope import Envelope, Message, wrap
from contracts.teams import MembershipChange, MembershipOp, PatchGroup, PushGroup, TeamReply
from contracts.users import UserCreated, UserDeactivated, UserDeleted, UserReactivated, UserUpdated
from services.teams.manager_teams import UserState, manager_teams
from services.teams.tests.conftest import TeamsHarness
from services.teams.tests.replica_helpers import manager_changed, members_of, record
from services.teams.tests.replica_helpers import manager_teams as stored_manager_teams

# Long property runs: minutes on PostgreSQL.
pytestmark = pytest.mark.slow

USERS = ("u0", "u1", "u2", "u3", "u4")
managers = st.sampled_from((None, *USERS))
user_step = st.one_of(
    st.tuples(st.just("manager"), managers),
    st.tuples(st.just("active"), st.booleans()),
    st.tuples(st.just("update"), managers),
    st.tuples(st.just("delete"), st.none()),
)


@dataclass
class Script:
    """One user's events in order, and the state they leave the user in."""

    user_id: str
    state: UserState
    messages: list[object] = field(default_factory=list)

    def apply(self, kind: str, value: object) -> None:
        state = self.state
        if state.deleted:
            return  # the users service says nothing more about a deleted user
        if kind == "manager":
            manager = value if isinstance(value, str) else None
            self.messages.append(manager_changed(self.user_id, manager, state.manager_id))
            self.state = UserState(self.user_id, state.active, False, manager)
        elif kind == "active":
            self.messages.append(
                UserReactivated(user_id=self.user_id) if value else UserDeactivated(user_id=self.user_id)
            )
            self.state = UserState(self.user_id, bool(value), False, state.manager_id)
        elif kind == "update":
            manager = value if isinstance(value, str) else None
            user = record(self.user_id, manager_id=manager, active=state.active)
            self.messages.append(UserUpdated(user=user))
            self.state = UserState(self.user_id, state.active, False, manager)
        else:
            self.messages.append(UserDeleted(user_id=self.user_id))
            self.state = UserState(self.user_id, False, True, state.manager_id)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Script], list[tuple[str, str]], list[int], list[bool]]:
    scripts = []
    for user_id in USERS:
        manager, active = draw(managers), draw(st.booleans())
        script = Script(user_id, UserState(user_id, active, False, manager))
        script.messages.append(UserCreated(user=record(user_id, manager_id=manager, active=active)))
        for kind, value in draw(st.lists(user_step, max_size=4)):
            script.apply(kind, value)
        scripts.append(script)
    group_ops = draw(
        st.lists(st.tuples(st.sampled_from(("add", "remove")), st.sampled_from(USERS)), max_size=8)
    )
    total = sum(len(s.messages) for s in scripts) + len(group_ops)
    order = draw(st.lists(st.integers(0, len(USERS)), min_size=total, max_size=total))
    redeliveries = draw(st.lists(st.booleans(), min_size=total, max_size=total))
    return scripts, group_ops, order, redeliveries


def _interleave(
    scripts: list[Script], group_ops: list[tuple[str, str]], order: list[int]
) -> list[tuple[str, object]]:
    """Merge the streams, picking the next stream by ``order`` (skipping exhausted ones)."""
    queues: list[list[tuple[str, object]]] = [[(s.user_id, m) for m in s.messages] for s in scripts]
    queues.append([("group", op) for op in group_ops])
    merged: list[tuple[str, object]] = []
    for pick in order:
        live = [queue for queue in queues if queue]
        merged.append(live[pick % len(live)].pop(0))
    return merged


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_any_interleaving_converges_on_the_rules(
    teams: TeamsHarness, history: tuple[list[Script], list[tuple[str, str]], list[int], list[bool]]
) -> None:
    scripts, group_ops, order, redeliveries = history
    tenant = uuid4().hex
    reply = teams.send(PushGroup(team_id=str(uuid4()), display_name="Sales"), tenant=tenant)
    assert isinstance(reply, TeamReply)
    team_id = reply.team.id
    delivered: list[tuple[str, Envelope]] = []
    for (stream, message), redeliver in zip(
        _interleave(scripts, group_ops, order), redeliveries, strict=True
    ):
        if stream == "group":
            assert isinstance(message, tuple)
            op, user_id = message
            change = MembershipChange(op=MembershipOp(op), user_ids=(user_id,))
            teams.send(PatchGroup(team_id=team_id, changes=(change,)), tenant=tenant)
        else:
            assert isinstance(message, Message)
            envelope = wrap(message, tenant=tenant, producer="users")
            teams.redeliver_event(envelope, user_id=stream)
            delivered.append((stream, envelope))
        if redeliver and delivered:
            user_id, again = delivered[len(delivered) // 2]
            teams.redeliver_event(again, user_id=user_id)

    final = {script.user_id: script.state for script in scripts}
    assert stored_manager_teams(teams.engine, tenant) == manager_teams(final.values())
    last_op = dict((user_id, op) for op, user_id in group_ops)
    expected = {u for u, op in last_op.items() if op == "add" and not final[u].deleted}
    assert members_of(teams.engine, team_id) == expected
