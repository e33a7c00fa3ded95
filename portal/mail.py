"""E-mail of staff messages through the SMTP server in the settings (PORTAL_SMTP_*).

Messages are written to the ``staff_message`` table in the transaction of the change they
tell of; a message to someone with an e-mail address is left ``pending`` there (an
outbox). While the application runs with SMTP configured, one background task per
process sends what is pending: when a commit wakes it (``portal.messages.wake``) and
every ``POLL_SECONDS`` in case a wake-up was missed. So a mail goes only for a committed
change, never on a request's path, and a failure is logged and recorded on the row, never
raised to anyone's request. Without SMTP settings nothing is sent and no task runs.

A row is claimed (pending → sending) by one conditional update, so that several server
processes never mail one message twice; a process that dies mid-send leaves its rows
``sending`` (at most once rather than twice). Messages older than ``MAX_AGE`` are not
mailed any more: after SMTP is first configured, nobody receives last year's news.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import smtplib
import ssl
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from litestar import Litestar

from portal import messages
from portal.clock import utc_now
from portal.settings import Settings, SmtpSettings
from portal.tables import StaffMessage

log = logging.getLogger("portal.mail")

POLL_SECONDS = 60.0
BATCH = 50
MAX_AGE = dt.timedelta(days=2)
SMTP_TIMEOUT = 20.0
SIGNATURE = "\n\n——\n此邮件由评选平台自动发送，请登录平台查看详情，无需回复。"


def compose(smtp: SmtpSettings, to: str, subject: str, body: str, link: str) -> EmailMessage:
    """The mail of one message (plain text, UTF-8)."""
    mail = EmailMessage()
    mail["From"] = smtp.sender
    mail["To"] = to
    mail["Subject"] = subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(domain=smtp.sender.rsplit("@", 1)[-1])
    text = body or subject
    if link:
        text += f"\n\n{link}"
    mail.set_content(text + SIGNATURE)
    return mail


def deliver(smtp: SmtpSettings, mails: list[EmailMessage]) -> None:
    """Send ``mails`` over one SMTP connection (blocking: run it in a thread)."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.security == "ssl":
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=SMTP_TIMEOUT)
    with client:
        if smtp.security == "starttls":
            client.starttls(context=context)
        if smtp.user:
            client.login(smtp.user, smtp.password)
        for mail in mails:
            client.send_message(mail)


async def _claim(now: dt.datetime) -> list[dict]:
    """Take up to ``BATCH`` pending messages (pending → sending) with their addresses."""
    rows = (
        await StaffMessage.select(StaffMessage.id)
        .where(
            (StaffMessage.mail_state == messages.PENDING)
            & (StaffMessage.created_at >= now - MAX_AGE)
        )
        .order_by(StaffMessage.id)
        .limit(BATCH)
        .run()
    )
    if not rows:
        return []
    claimed = (
        await StaffMessage.update({StaffMessage.mail_state: messages.SENDING})
        .where(
            StaffMessage.id.is_in([row["id"] for row in rows])
            & (StaffMessage.mail_state == messages.PENDING)
        )
        .returning(StaffMessage.id)
        .run()
    )
    if not claimed:
        return []
    return (
        await StaffMessage.select(
            StaffMessage.id,
            StaffMessage.subject,
            StaffMessage.body,
            StaffMessage.href,
            StaffMessage.recipient.email.as_alias("email"),
        )
        .where(StaffMessage.id.is_in([row["id"] for row in claimed]))
        .order_by(StaffMessage.id)
        .run()
    )


async def send_pending(settings: Settings, base_url: str = "") -> int:
    """Mail every pending message (in batches); returns how many were sent."""
    smtp = settings.smtp
    if smtp is None:
        return 0
    sent = 0
    while rows := await _claim(utc_now()):
        ids = [row["id"] for row in rows]
        mails = [
            compose(smtp, row["email"], row["subject"], row["body"], f"{base_url}{row['href']}")
            for row in rows
            if row["email"]
        ]
        try:
            await asyncio.to_thread(deliver, smtp, mails)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("mailing %d staff messages via %s failed: %s", len(ids), smtp.host, exc)
            state = messages.FAILED
        else:
            state = messages.SENT
            sent += len(mails)
        await (
            StaffMessage.update({StaffMessage.mail_state: state, StaffMessage.mailed_at: utc_now()})
            .where(StaffMessage.id.is_in(ids))
            .run()
        )
        if state == messages.FAILED:
            break  # the server is down: try the rest at the next wake-up, not in a loop
    return sent


async def mail_forever(settings: Settings, wake: asyncio.Event, poll: float = POLL_SECONDS) -> None:
    """Send pending messages when woken and every ``poll`` seconds, until cancelled."""
    base_url = settings.public_url or ""
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), poll)
        wake.clear()
        try:
            await send_pending(settings, base_url)
        except asyncio.CancelledError:
            raise
        except Exception:  # never let one bad round stop the mailer
            log.exception("mailing staff messages failed")


@contextlib.asynccontextmanager
async def lifespan(app: Litestar) -> AsyncIterator[None]:
    """The mailer's lifespan: a background task while the application runs, when its
    settings name an SMTP server (none otherwise)."""
    settings: Settings = app.state.settings
    if settings.smtp is None:
        yield
        return
    wake = asyncio.Event()
    messages.register_mailer(wake)
    wake.set()  # whatever is pending from before the start
    task = asyncio.create_task(mail_forever(settings, wake))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
