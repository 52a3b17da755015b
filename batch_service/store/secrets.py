"""Values every replica must share, created once by whichever process gets there first."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from batch_service.models import ServiceSecret


def get_or_create_secret(*, session: Session, name: str, generate: Callable[[], str]) -> str:
    existing = session.get(ServiceSecret, name)
    if existing is not None:
        return existing.value
    session.add(ServiceSecret(name=name, value=generate()))
    try:
        session.commit()
    except IntegrityError:  # another replica stored one first: use theirs
        session.rollback()
    stored = session.get(ServiceSecret, name)
    if stored is None:
        raise RuntimeError(f"service secret {name!r} was neither stored nor found; is the database writable?")
    return stored.value
