"""The admin API over HTTP: one method per route, answers parsed into ``models``, every failure an
``AdminError`` whose exit code says what kind of failure it was."""

from __future__ import annotations

from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from roster_cli.errors import AdminError, ExitCode, exit_code_for_status
from roster_cli.models import (
    ActiveTokens,
    ActivityPage,
    DeadLetter,
    DeadLetterList,
    DeadLetterState,
    DefaultManager,
    IssuedToken,
    Revoked,
    RevokedToken,
    SeatDrift,
    SeatUsage,
    Team,
    TeamPage,
    TeamSource,
    Tenant,
)

Answer = TypeVar("Answer", bound=BaseModel)
Parsed = TypeVar("Parsed")

# Longer than the gateway's own request timeout (15 s by default), so its 503 arrives before ours.
REQUEST_TIMEOUT_SECONDS = 30.0


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail else response.text.strip()


def _path(*segments: str) -> str:
    """Ids typed by the admin are path segments, never paths: ``/`` or ``?`` in one stays inside it."""
    return "".join(f"/{quote(segment, safe='')}" for segment in segments)


def _parse(adapter: TypeAdapter[Parsed], response: httpx.Response) -> Parsed:
    try:
        return adapter.validate_json(response.content)
    except ValidationError as error:
        detail = error.errors()[0]["msg"]
        message = f"unexpected answer from {response.request.url} (is it a Roster gateway?): {detail}"
        raise AdminError(message, ExitCode.ERROR) from None


class AdminClient:
    def __init__(self, *, url: str, token: str, timeout: float = REQUEST_TIMEOUT_SECONDS) -> None:
        self._url = url
        self._timeout = timeout
        headers = {"Authorization": f"Bearer {token}"}
        self._http = httpx.Client(base_url=f"{url.rstrip('/')}/admin/v1", headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _send(self, method: str, path: str, **request: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **request)
        except httpx.TimeoutException:
            message = (
                f"no answer from the Roster gateway at {self._url} within {self._timeout:g} s (--timeout)"
            )
            raise AdminError(message, ExitCode.UNAVAILABLE) from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as error:
            message = f"cannot reach the Roster gateway at {self._url}: {error}"
            raise AdminError(message, ExitCode.UNAVAILABLE) from None
        except httpx.UnsupportedProtocol:
            raise AdminError(
                f"--gateway-url {self._url} is not an http:// or https:// URL", ExitCode.USAGE
            ) from None
        except httpx.HTTPError as error:
            raise AdminError(f"cannot call {self._url}: {error}", ExitCode.ERROR) from None
        if response.is_error:
            status = response.status_code
            if status == 404 and _detail(response) == "Not Found":  # no such route: not a missing tenant
                raise AdminError(
                    f"{self._url} has no Roster admin API ({response.request.url.path} is not found):"
                    " --gateway-url is the gateway's root, e.g. http://127.0.0.1:8000",
                    ExitCode.USAGE,
                    status=status,
                )
            raise AdminError(f"{status}: {_detail(response)}", exit_code_for_status(status), status=status)
        return response

    def _call(self, answer: type[Answer], method: str, path: str, **request: Any) -> Answer:
        return _parse(TypeAdapter(answer), self._send(method, path, **request))

    def tenants(self) -> list[Tenant]:
        return _parse(TypeAdapter(list[Tenant]), self._send("GET", _path("tenants")))

    def create_tenant(self, name: str) -> Tenant:
        return self._call(Tenant, "POST", _path("tenants"), json={"name": name})

    def issue_token(self, tenant_id: str) -> IssuedToken:
        return self._call(IssuedToken, "POST", _path("tenants", tenant_id, "tokens"))

    def rotate_token(self, tenant_id: str) -> IssuedToken:
        return self._call(IssuedToken, "POST", _path("tenants", tenant_id, "tokens", "rotate"))

    def revoke_tokens(self, tenant_id: str) -> Revoked:
        return self._call(Revoked, "DELETE", _path("tenants", tenant_id, "tokens"))

    def tokens(self, tenant_id: str) -> ActiveTokens:
        return self._call(ActiveTokens, "GET", _path("tenants", tenant_id, "tokens"))

    def revoke_token(self, tenant_id: str, token_id: int) -> RevokedToken:
        return self._call(RevokedToken, "DELETE", _path("tenants", tenant_id, "tokens", str(token_id)))

    def seats(self, tenant_id: str) -> SeatUsage:
        return self._call(SeatUsage, "GET", _path("tenants", tenant_id, "seats"))

    def set_seats(self, tenant_id: str, limit: int) -> SeatUsage:
        return self._call(SeatUsage, "PUT", _path("tenants", tenant_id, "seats"), json={"limit": limit})

    def reconcile_seats(self, tenant_id: str, *, repair: bool) -> SeatDrift:
        params = {"repair": "true" if repair else "false"}
        return self._call(SeatDrift, "POST", _path("tenants", tenant_id, "seats", "reconcile"), params=params)

    def all_teams(self, tenant_id: str, *, source: TeamSource | None) -> list[Team]:
        """Every page of the listing; a page may hold fewer teams than asked for (it ends where its
        members fill a reply), so the next one starts after the teams received so far."""
        teams: list[Team] = []
        while True:
            params = {"startIndex": len(teams) + 1, **({"source": source.value} if source else {})}
            page = self._call(TeamPage, "GET", _path("tenants", tenant_id, "teams"), params=params)
            teams += page.teams
            if not page.teams or len(teams) >= page.total_results:
                return teams

    def create_team(self, tenant_id: str, name: str, member_ids: list[str]) -> Team:
        body = {"display_name": name, "member_ids": member_ids}
        return self._call(Team, "POST", _path("tenants", tenant_id, "teams"), json=body)

    def rename_team(self, tenant_id: str, team_id: str, name: str) -> Team:
        body = {"display_name": name}
        return self._call(Team, "PATCH", _path("tenants", tenant_id, "teams", team_id), json=body)

    def change_members(self, tenant_id: str, team_id: str, *, add: list[str], remove: list[str]) -> Team:
        body = {"add": add, "remove": remove}
        return self._call(Team, "POST", _path("tenants", tenant_id, "teams", team_id, "members"), json=body)

    def release_team(self, tenant_id: str, team_id: str) -> Team:
        return self._call(Team, "POST", _path("tenants", tenant_id, "teams", team_id, "release"))

    def delete_team(self, tenant_id: str, team_id: str) -> None:
        self._send("DELETE", _path("tenants", tenant_id, "teams", team_id))

    def default_manager(self, tenant_id: str) -> DefaultManager:
        return self._call(DefaultManager, "GET", _path("tenants", tenant_id, "default-manager"))

    def set_default_manager(self, tenant_id: str, user_id: str | None) -> DefaultManager:
        path = _path("tenants", tenant_id, "default-manager")
        return self._call(DefaultManager, "PUT", path, json={"user_id": user_id})

    def dead_letters(
        self, *, state: DeadLetterState, topic: str | None, service: str | None, tenant: str | None
    ) -> DeadLetterList:
        filters = {"topic": topic, "service": service, "tenant": tenant}
        params = {"state": state.value, **{name: value for name, value in filters.items() if value}}
        return self._call(DeadLetterList, "GET", _path("dead-letters"), params=params)

    def dead_letter(self, letter_id: str) -> DeadLetter:
        return self._call(DeadLetter, "GET", _path("dead-letters", letter_id))

    def replay_dead_letter(self, letter_id: str) -> DeadLetter:
        return self._call(DeadLetter, "POST", _path("dead-letters", letter_id, "replay"))

    def discard_dead_letter(self, letter_id: str) -> DeadLetter:
        return self._call(DeadLetter, "POST", _path("dead-letters", letter_id, "discard"))

    def activity(self, tenant_id: str, filters: dict[str, str | int | None]) -> ActivityPage:
        params = {name: value for name, value in filters.items() if value is not None}
        return self._call(ActivityPage, "GET", _path("tenants", tenant_id, "activity"), params=params)
