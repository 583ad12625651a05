"""``dlq`` commands: the messages services set aside on ``<topic>.dlq``, and the operator's decisions on
them (replay once the cause is fixed, or discard)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from roster_cli.models import DeadLetter, DeadLetterState
from roster_cli.output import add_row, table
from roster_cli.session import Session, session

dlq_app = typer.Typer(help="Dead letters: messages a service could not process.", no_args_is_help=True)

LetterId = Annotated[str, typer.Argument(help="The dead letter's id (<topic>.dlq:<partition>:<offset>).")]

_ERROR_WIDTH = 100


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def letters_table(letters: list[DeadLetter]) -> Table:
    grid = table("ID", "SERVICE", "TENANT", "TYPE", "STATE", "ERROR")
    for letter in letters:
        envelope = letter.envelope
        add_row(
            grid,
            letter.id,
            letter.service,
            envelope.tenant if envelope else None,
            envelope.type if envelope else None,
            letter.state,
            _one_line(letter.error, _ERROR_WIDTH),
        )
    return grid


def letter_lines(letter: DeadLetter) -> list[str]:
    """``KEY=value`` lines: the place, the decision, the envelope's routing facts, the error, the headers."""
    envelope = letter.envelope
    facts: dict[str, object] = {
        "ID": letter.id,
        "TOPIC": letter.topic,
        "SERVICE": letter.service,
        "DEAD_LETTERED_AT": letter.dead_lettered_at.isoformat(),
        "STATE": letter.state,
        "DECIDED_AT": letter.decided_at.isoformat() if letter.decided_at else None,
        "REPLAY_MESSAGE_ID": letter.replay_message_id,
        "TYPE": envelope.type if envelope else "(not a Roster message)",
        "TENANT": envelope and envelope.tenant,
        "MESSAGE_ID": envelope and envelope.message_id,
        "CORRELATION_ID": envelope and envelope.correlation_id,
        "CAUSATION_ID": envelope and envelope.causation_id,
        "PRODUCER": envelope and envelope.producer,
        "ERROR": _one_line(letter.error, 2000),
    }
    lines = [f"{key}={value}" for key, value in facts.items() if value is not None]
    return lines + [f"HEADER {name}={value}" for name, value in sorted(letter.headers.items())]


def _show(admin: Session, letter: DeadLetter, *first: str) -> None:
    admin.out.show(letter.model_dump(mode="json"), *first, *letter_lines(letter))


@dlq_app.command("list")
def list_letters(
    ctx: typer.Context,
    topic: Annotated[str | None, typer.Option(help="Only from this topic (users.commands.v1).")] = None,
    service: Annotated[str | None, typer.Option(help="Only those this service set aside.")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's.")] = None,
    state: Annotated[
        DeadLetterState, typer.Option(help="unresolved (nobody decided yet), replayed, discarded or all.")
    ] = DeadLetterState.UNRESOLVED,
) -> None:
    """Dead letters with their error; by default those not yet replayed or discarded."""
    admin = session(ctx)
    found = admin.client.dead_letters(state=state, topic=topic, service=service, tenant=tenant)
    document = found.model_dump(mode="json")
    admin.out.show(document, letters_table(found.dead_letters) if found.dead_letters else "no dead letters")


@dlq_app.command("show")
def show_letter(ctx: typer.Context, letter_id: LetterId) -> None:
    """One dead letter: its error, original headers and envelope (type, tenant, ids; never the payload)."""
    admin = session(ctx)
    _show(admin, admin.client.dead_letter(letter_id))


@dlq_app.command("replay")
def replay_letter(ctx: typer.Context, letter_id: LetterId) -> None:
    """Send the message again to its topic, under a new message id; once the cause is fixed."""
    admin = session(ctx)
    letter = admin.client.replay_dead_letter(letter_id)
    _show(admin, letter, f"replayed {letter.id} as message {letter.replay_message_id}")


@dlq_app.command("discard")
def discard_letter(ctx: typer.Context, letter_id: LetterId) -> None:
    """Set it aside for good: hidden from `dlq list`, never replayed."""
    admin = session(ctx)
    letter = admin.client.discard_dead_letter(letter_id)
    _show(admin, letter, f"discarded {letter.id}")
