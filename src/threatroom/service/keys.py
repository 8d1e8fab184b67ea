"""API keys: random, shown once, stored as a SHA-256 digest, compared in constant time.

A key looks like ``tr_<prefix>_<secret>``; the prefix finds the row, the digest of the
whole key is compared with ``hmac.compare_digest``. Every key belongs to a tenant.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .tables import ApiKey, Tenant, now

_TOKEN = re.compile(r"^tr_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{32,64})$")
_TENANT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
LOCAL_TENANT = "local"


@dataclass(frozen=True)
class Principal:
    tenant: str
    key_name: str | None  # None: anonymous on a loopback-only server


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_tenant(s: Session, tenant: str) -> None:
    if not _TENANT.match(tenant):
        raise ValueError("a tenant is 1-64 characters: lower-case letters, digits, '.', '_' or '-'")
    if s.get(Tenant, tenant) is None:
        s.add(Tenant(id=tenant))
        s.flush()


def create_key(s: Session, *, name: str, tenant: str) -> str:
    """A new key for ``tenant`` (created if needed). The plain key is returned once, never stored."""
    ensure_tenant(s, tenant)
    prefix = "".join(secrets.choice("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(12))
    token = f"tr_{prefix}_{secrets.token_urlsafe(32)}"
    s.add(ApiKey(tenant_id=tenant, name=name[:200], prefix=prefix, digest=_digest(token)))
    s.flush()
    return token


def authenticate(s: Session, token: str) -> Principal | None:
    m = _TOKEN.match(token.strip())
    if not m:
        _digest(token)  # similar work whether or not the shape is right
        return None
    row = s.scalar(select(ApiKey).where(ApiKey.prefix == m.group(1)))
    expected = row.digest if row is not None else "0" * 64
    ok = hmac.compare_digest(_digest(token.strip()), expected)
    if not ok or row is None or row.revoked_at is not None:
        return None
    return Principal(row.tenant_id, row.name)


def any_keys(s: Session) -> bool:
    return s.scalar(select(ApiKey.id).where(ApiKey.revoked_at.is_(None)).limit(1)) is not None


def list_keys(s: Session) -> list[ApiKey]:
    return list(s.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke(s: Session, prefix: str) -> bool:
    row = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = now()
    return True


__all__ = ["LOCAL_TENANT", "Principal", "any_keys", "authenticate", "create_key", "ensure_tenant", "list_keys", "revoke"]
