"""E-mail of staff messages: sent through the configured SMTP server after the change
commits, off the request path; nothing without SMTP settings; a failing server is
logged and recorded, never raised. A local SMTP server (aiosmtpd) receives the mail."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller

from portal import mail, messages
from portal.settings import ConfigError, Settings, SmtpSettings
from portal.tables import Staff, StaffMessage
from tests.conftest import running
from tests.portal.test_messages import decide
from tests.portal.test_todo import make_scene


class Inbox:
    """What the local SMTP server received."""

    def __init__(self) -> None:
        self.received: list = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.received.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield inbox, port
    finally:
        server.stop()


def smtp_settings(port: int) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1", port=port, sender="pingxuan@example.gov.cn", security="none"
    )


async def wait_for(inbox: Inbox, count: int, seconds: float = 10.0) -> None:
    for _ in range(int(seconds * 20)):
        if len(inbox.received) >= count:
            return
        await asyncio.sleep(0.05)


async def give_clerk_an_address() -> None:
    await (
        Staff.update({Staff.email: "clerk@anding.example.gov.cn"})
        .where(Staff.username == "clerk")
        .run()
    )


async def test_a_message_is_mailed_after_the_change_commits(
    db: None, settings: Settings, apps, smtp_server, staff: dict
) -> None:
    inbox, port = smtp_server
    await make_scene()
    await give_clerk_an_address()
    app = apps.get(
        dataclasses.replace(
            settings, smtp=smtp_settings(port), public_url="https://pingxuan.example.gov.cn"
        )
    )
    try:
        async with running(app):
            nomination = await decide("安定区报送司法所", "return", "请补充近三年调解台账")
            await wait_for(inbox, 1)
    finally:
        await apps.forget(app)
    [envelope] = inbox.received
    assert envelope.rcpt_tos == ["clerk@anding.example.gov.cn"]
    assert envelope.mail_from == "pingxuan@example.gov.cn"
    sent = message_from_bytes(envelope.content, policy=policy.default)
    assert sent["Subject"] == "2025年度待办测试评选：「安定区报送司法所」被退回修改"
    text = sent.get_content()
    assert "退回意见：请补充近三年调解台账" in text
    assert f"https://pingxuan.example.gov.cn/staff/nominations/{nomination.id}" in text
    [row] = await StaffMessage.select(StaffMessage.mail_state, StaffMessage.mailed_at).run()
    assert row["mail_state"] == messages.SENT and row["mailed_at"] is not None


async def test_nothing_is_sent_without_smtp_settings(
    db: None, settings: Settings, apps, smtp_server, staff: dict
) -> None:
    inbox, _ = smtp_server
    await make_scene()
    await give_clerk_an_address()
    assert settings.smtp is None
    app = apps.get(settings)
    try:
        async with running(app):
            await decide("安定区报送司法所", "return", "请补充材料")
            await asyncio.sleep(0.5)
    finally:
        await apps.forget(app)
    assert await mail.send_pending(settings) == 0
    assert inbox.received == []
    # The message itself is there, on the site.
    assert await StaffMessage.count().run() == 1


async def test_a_failing_server_is_logged_and_recorded(
    db: None, settings: Settings, staff: dict, caplog: pytest.LogCaptureFixture
) -> None:
    await make_scene()
    await give_clerk_an_address()
    await decide("安定区报送司法所", "return", "请补充材料")  # the change itself succeeds
    down = dataclasses.replace(settings, smtp=smtp_settings(free_port()))
    with caplog.at_level(logging.WARNING, logger="portal.mail"):
        assert await mail.send_pending(down) == 0
    assert "failed" in caplog.text
    [row] = await StaffMessage.select(StaffMessage.mail_state).run()
    assert row["mail_state"] == messages.FAILED


async def test_no_address_no_mail(db: None, settings: Settings, smtp_server, staff: dict) -> None:
    inbox, port = smtp_server
    await make_scene()
    await decide("安定区报送司法所", "return", "请补充材料")
    [row] = await StaffMessage.select(StaffMessage.mail_state).run()
    assert row["mail_state"] == ""
    assert await mail.send_pending(dataclasses.replace(settings, smtp=smtp_settings(port))) == 0
    assert inbox.received == []


def test_smtp_settings_from_the_environment() -> None:
    assert SmtpSettings.from_env({}) is None
    smtp = SmtpSettings.from_env(
        {
            "PORTAL_SMTP_HOST": "smtp.example.gov.cn",
            "PORTAL_SMTP_FROM": "pingxuan@example.gov.cn",
            "PORTAL_SMTP_USER": "pingxuan",
            "PORTAL_SMTP_PASSWORD": "s3cret",
        }
    )
    assert smtp == SmtpSettings(
        "smtp.example.gov.cn", 587, "pingxuan@example.gov.cn", "pingxuan", "s3cret", "starttls"
    )
    assert "s3cret" not in repr(smtp)
    ssl = SmtpSettings.from_env(
        {"PORTAL_SMTP_HOST": "h", "PORTAL_SMTP_FROM": "a@b.cn", "PORTAL_SMTP_TLS": "SSL"}
    )
    assert ssl is not None and (ssl.port, ssl.security) == (465, "ssl")
    with pytest.raises(ConfigError, match="PORTAL_SMTP_FROM"):
        SmtpSettings.from_env({"PORTAL_SMTP_HOST": "h"})
    with pytest.raises(ConfigError, match="PORTAL_SMTP_TLS"):
        SmtpSettings.from_env(
            {"PORTAL_SMTP_HOST": "h", "PORTAL_SMTP_FROM": "a@b.cn", "PORTAL_SMTP_TLS": "yes"}
        )
    with pytest.raises(ConfigError, match="PORTAL_SMTP_USER"):
        SmtpSettings.from_env(
            {"PORTAL_SMTP_HOST": "h", "PORTAL_SMTP_FROM": "a@b.cn", "PORTAL_SMTP_PASSWORD": "p"}
        )


def test_production_refuses_a_password_in_clear() -> None:
    settings = Settings(
        database_url="postgresql://x/y",
        env="production",
        secret_key="k" * 40,
        public_url="https://pingxuan.example.gov.cn",
        smtp=SmtpSettings("h", 25, "a@b.cn", "u", "p", "none"),
    )
    with pytest.raises(ConfigError, match="PORTAL_SMTP_TLS"):
        settings.check()
