"""The gateway's only state: tenants and the hashes of their SCIM tokens.

Tokens are random (32 bytes), shown once, stored only as SHA-256 and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime
from uuid import uuid4

from scim2_models import Group, Path, default_comparison_key
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, func, select

from servicekit.clock import utc_now

TOKEN_PREFIX = "rst_"


class Tenant(SQLModel, table=True):
    __tablename__ = "tenants"

    id: str = Field(primary_key=True)
    name: str = Field(unique=True)
    # What names are unique by (``name_key``): SQL's lower() folds ASCII only, so the key is computed
    # here and enforced by a unique index, which also settles two creates racing for one name.
    name_key: str = Field(unique=True, index=True)
    created_at: datetime = Field(default_factory=utc_now)


class ScimToken(SQLModel, table=True):
    __tablename__ = "scim_tokens"

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", index=True)
    token_hash: str = Field(unique=True, index=True)
    created_at: datetime = Field(default_factory=utc_now)
    revoked_at: datetime | None = None


GATEWAY_TABLES: tuple[type[SQLModel], ...] = (Tenant, ScimToken)


class TenantNotFound(LookupError):
    pass


class TenantNameTaken(ValueError):
    pass


class TokenNotFound(LookupError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_DISPLAY_NAME = Path[Group]("displayName").resolve()


def tenant_name_key(name: str) -> str:
    """Tenant names compare as SCIM compares a displayName (caseExact false): NFC, lower-cased, NFC."""
    return default_comparison_key(_DISPLAY_NAME, name)


def create_tenant(session: Session, *, name: str) -> Tenant:
    key = tenant_name_key(name)
    holder = session.exec(select(Tenant).where(Tenant.name_key == key)).first()
    if holder is not None:
        raise _name_taken(holder.name)
    tenant = Tenant(id=uuid4().hex[:16], name=name, name_key=key)
    session.add(tenant)
    try:
        session.flush()
    except IntegrityError:
        raise _name_taken(name) from None
    return tenant


def _name_taken(held: str) -> TenantNameTaken:
    """Names the tenant as it is held: ``ACME`` is refused because of ``Acme``."""
    return TenantNameTaken(f"a tenant named {held!r} already exists (names are compared case-insensitively)")


def get_tenant(session: Session, *, tenant_id: str) -> Tenant:
    tenant = session.get(Tenant, tenant_id)
    if tenant is None:
        raise TenantNotFound(f"no tenant with id {tenant_id!r}")
    return tenant


def list_tenants(session: Session) -> Sequence[tuple[Tenant, int]]:
    """Every tenant with its number of active tokens."""
    active = (
        select(ScimToken.tenant_id, func.count().label("n"))
        .where(col(ScimToken.revoked_at).is_(None))
        .group_by(col(ScimToken.tenant_id))
        .subquery()
    )
    query = (
        select(Tenant, func.coalesce(active.c.n, 0))
        .outerjoin(active, active.c.tenant_id == Tenant.id)
        .order_by(col(Tenant.created_at))
    )
    return [(tenant, int(count)) for tenant, count in session.exec(query).all()]


def issue_token(session: Session, *, tenant_id: str) -> str:
    """A new token next to the existing ones (lets an admin switch Okta over without downtime)."""
    get_tenant(session, tenant_id=tenant_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ScimToken(tenant_id=tenant_id, token_hash=hash_token(token)))
    return token


def revoke_tokens(session: Session, *, tenant_id: str) -> int:
    get_tenant(session, tenant_id=tenant_id)
    tokens = session.exec(
        select(ScimToken).where(ScimToken.tenant_id == tenant_id, col(ScimToken.revoked_at).is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = utc_now()
        session.add(token)
    return len(tokens)


def active_tokens(session: Session, *, tenant_id: str) -> Sequence[ScimToken]:
    """The tenant's tokens still in force, oldest first (their hashes never leave the gateway)."""
    get_tenant(session, tenant_id=tenant_id)
    query = select(ScimToken).where(ScimToken.tenant_id == tenant_id, col(ScimToken.revoked_at).is_(None))
    return session.exec(query.order_by(col(ScimToken.created_at), col(ScimToken.id))).all()


def revoke_token(session: Session, *, tenant_id: str, token_id: int) -> None:
    """One token, e.g. the old one after the identity provider was switched over to a new one."""
    get_tenant(session, tenant_id=tenant_id)
    # The id column is a SQL INTEGER (32-bit on PostgreSQL): a larger id names no token, and the
    # database would refuse to compare with it.
    token = session.get(ScimToken, token_id) if -(2**31) <= token_id < 2**31 else None
    if token is None or token.tenant_id != tenant_id or token.revoked_at is not None:
        raise TokenNotFound(f"tenant {tenant_id!r} has no active token with id {token_id}")
    token.revoked_at = utc_now()
    session.add(token)


def rotate_token(session: Session, *, tenant_id: str) -> str:
    revoke_tokens(session, tenant_id=tenant_id)
    return issue_token(session, tenant_id=tenant_id)


def tenant_for_token(session: Session, *, token: str) -> str | None:
    return tenant_for_token_hash(session, presented=hash_token(token))


def tenant_for_token_hash(session: Session, *, presented: str) -> str | None:
    """The tenant of the active token whose ``hash_token`` is ``presented``."""
    stored = session.exec(
        select(ScimToken).where(ScimToken.token_hash == presented, col(ScimToken.revoked_at).is_(None))
    ).first()
    # Looked up by SHA-256 of a 256-bit random token, so lookup timing says nothing about the
    # token; the final comparison is constant-time all the same.
    if stored is None or not hmac.compare_digest(stored.token_hash, presented):
        return None
    return stored.tenant_id
