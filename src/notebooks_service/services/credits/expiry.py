"""Expiry of granted credits, oldest first.

Spending draws on credits in the order they arrived (FIFO), so when a grant expires only the part
of it that later-arriving credits did not have to cover is gone. For a grant G in wallet W at its
expiry time T: `older` = credits that arrived in W before G, `spent` = every debit in W up to T
(charges, negative adjustments, earlier expiries); G was consumed by `spent - older`, clamped to
[0, G]; the rest expires. Each grant expires once (the expiry entry references it, uniquely).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.orm import Session, aliased

from notebooks_service.services.credits.ledger import NewEntry, post
from notebooks_service.services.credits.models import Entry


def remaining_of(session: Session, lot: Entry) -> int:
    """What is left of grant `lot` at its expiry time (micro-credits)."""
    assert lot.expires_at is not None
    older = session.scalar(
        select(func.coalesce(func.sum(Entry.amount), 0)).where(
            Entry.wallet == lot.wallet, Entry.amount > 0,
            tuple_(Entry.time, Entry.id) < tuple_(lot.time, lot.id)))
    spent = session.scalar(
        select(func.coalesce(func.sum(-Entry.amount), 0)).where(
            Entry.wallet == lot.wallet, Entry.amount < 0, Entry.time <= lot.expires_at))
    consumed = min(max(int(spent) - int(older), 0), lot.amount)
    return lot.amount - consumed


def expire_due(session: Session, now: datetime) -> list[NewEntry]:
    """Post an expiry for every grant whose time has come, in expiry order; the caller commits."""
    expired = aliased(Entry)
    due = session.scalars(
        select(Entry)
        .outerjoin(expired, and_(expired.lot_id == Entry.id))
        .where(Entry.expires_at.is_not(None), Entry.expires_at <= now, expired.id.is_(None))
        .order_by(Entry.expires_at, Entry.id)
    ).all()
    posted: list[NewEntry] = []
    for lot in due:
        assert lot.expires_at is not None
        left = remaining_of(session, lot)
        posted += post(session, [NewEntry(
            time=lot.expires_at, wallet=lot.wallet, kind="expiry", amount=-left, actor="credits",
            reason=f"unused credits of grant #{lot.id} expired", key=f"expiry:{lot.id}", lot_id=lot.id)])
    return posted
