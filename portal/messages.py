"""In-site messages (站内消息) to staff: written with the change they tell of, read on the
staff home page, and mailed afterwards when SMTP is configured.

``post`` and ``notify_bureaus`` run inside the caller's write transaction, so that a
message exists exactly when its change committed. A message to someone with an e-mail
address is left ``pending`` in the outbox; ``portal.mail`` sends it after the commit,
off the request path. ``wake`` tells the mailer to look now rather than at its next poll.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import weakref
from collections.abc import Iterable
from typing import Any

from portal.accounts import StaffUser
from portal.clock import utc_now
from portal.db import write_transaction
from portal.errors import Hidden
from portal.tables import Role, Staff, StaffMessage

MAX_SUBJECT = 200
MAX_BODY = 2000
LISTED = 50  # messages on the message page; the home page shows fewer
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"

# The mailers of this process (one per running application), woken after a commit.
_MAILERS: weakref.WeakSet[asyncio.Event] = weakref.WeakSet()


def register_mailer(event: asyncio.Event) -> None:
    """Let ``wake`` set ``event`` (the mailer's, while its application runs)."""
    _MAILERS.add(event)


def wake(*_: object) -> None:
    """After a commit that posted messages: let the mailers send them now."""
    for event in list(_MAILERS):
        event.set()


async def staff_of(bureau_ids: Iterable[int], roles: Iterable[Role] | None = None) -> list[int]:
    """The active staff accounts of these bureaus (only of ``roles``, if given)."""
    ids = sorted(set(bureau_ids))
    if not ids:
        return []
    query = Staff.select(Staff.id).where(Staff.bureau.is_in(ids) & (Staff.active == True))  # noqa: E712
    if roles is not None:
        query = query.where(Staff.role.is_in([role.value for role in roles]))
    return [row["id"] for row in await query.order_by(Staff.id).run()]


async def post(
    recipients: Iterable[int],
    subject: str,
    body: str = "",
    href: str = "",
    at: dt.datetime | None = None,
) -> int:
    """Write one message to each of ``recipients`` (staff ids), inside the caller's
    transaction, dated ``at`` (the change's own time; now by default); returns how many.
    Those with an e-mail address are owed a mail."""
    ids = sorted(set(recipients))
    if not ids:
        return 0
    emails = {
        row["id"]: row["email"]
        for row in await Staff.select(Staff.id, Staff.email).where(Staff.id.is_in(ids)).run()
    }
    now = at or utc_now()
    rows = [
        StaffMessage(
            recipient=staff_id,
            subject=subject[:MAX_SUBJECT],
            body=body[:MAX_BODY],
            href=href,
            created_at=now,
            mail_state=PENDING if emails.get(staff_id) else "",
        )
        for staff_id in ids
        if staff_id in emails
    ]
    if rows:
        await StaffMessage.insert(*rows).run()
    return len(rows)


async def notify_bureaus(
    bureau_ids: Iterable[int],
    subject: str,
    body: str = "",
    href: str = "",
    roles: Iterable[Role] | None = None,
    at: dt.datetime | None = None,
) -> int:
    """Write the message to every active staff member of these bureaus (of ``roles``)."""
    return await post(await staff_of(bureau_ids, roles), subject, body, href, at)


# --- reading -------------------------------------------------------------------------------


async def unread_count(user: StaffUser) -> int:
    """How many of ``user``'s messages are unread."""
    return (
        await StaffMessage.count()
        .where((StaffMessage.recipient == user.id) & StaffMessage.read_at.is_null())
        .run()
    )


async def messages_of(user: StaffUser, limit: int = LISTED) -> list[dict[str, Any]]:
    """``user``'s latest messages, newest first (nobody reads another's)."""
    return (
        await StaffMessage.select(
            StaffMessage.id,
            StaffMessage.subject,
            StaffMessage.body,
            StaffMessage.href,
            StaffMessage.created_at,
            StaffMessage.read_at,
        )
        .where(StaffMessage.recipient == user.id)
        .order_by(StaffMessage.created_at, ascending=False)
        .order_by(StaffMessage.id, ascending=False)
        .limit(limit)
        .run()
    )


async def mark_read(user: StaffUser, message_id: int, at: dt.datetime | None = None) -> None:
    """Mark one of ``user``'s messages read. Another's message is reported missing (404),
    so that its existence is not revealed."""
    async with write_transaction():
        message = (
            await StaffMessage.select(StaffMessage.id, StaffMessage.read_at)
            .where((StaffMessage.id == message_id) & (StaffMessage.recipient == user.id))
            .first()
            .run()
        )
        if message is None:
            raise Hidden(message_id)
        if message["read_at"] is None:
            await (
                StaffMessage.update({StaffMessage.read_at: at or utc_now()})
                .where(StaffMessage.id == message_id)
                .run()
            )


async def mark_all_read(user: StaffUser) -> int:
    """Mark all of ``user``'s unread messages read; returns how many."""
    async with write_transaction():
        changed = (
            await StaffMessage.update({StaffMessage.read_at: utc_now()})
            .where((StaffMessage.recipient == user.id) & StaffMessage.read_at.is_null())
            .returning(StaffMessage.id)
            .run()
        )
    return len(changed)
