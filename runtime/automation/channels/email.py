"""E-mail over SMTP (standard library ``smtplib``), configured by ``Settings.smtp_url``.

``smtp_url`` forms: ``smtp://host:25`` (plain), ``smtp://user:pass@host:587?starttls=1``
(STARTTLS), ``smtps://user:pass@host:465`` (implicit TLS). The SMTP server is the
operator's, so it is not subject to the webhook allow-list. The ``Message-ID`` is derived
from the action's idempotency key, so a message re-sent after a crash carries the same id
and mail systems that de-duplicate by it show it once.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from runtime.automation.channels.base import (
    Delivery,
    DeliveryContext,
    DeliveryError,
    Message,
    Recipients,
    register_channel,
)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to connect, parsed from ``smtp_url``."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False
    starttls: bool = False
    timeout_s: float = 10.0


def parse_smtp_url(url: str) -> SmtpConfig:
    """The :class:`SmtpConfig` of ``url``; ValueError for anything else than smtp(s)://."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("smtp_url must look like smtp://host:25 or smtps://user:pass@host:465")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    implicit = scheme == "smtps"
    return SmtpConfig(
        host=parts.hostname,
        port=parts.port or (465 if implicit else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        implicit_tls=implicit,
        starttls=query.get("starttls", "").lower() in {"1", "true", "yes", "on"},
        timeout_s=float(query.get("timeout", "10")),
    )


def message_id(idempotency_key: str, mail_from: str) -> str:
    """A stable ``Message-ID`` for one action run."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "cairn.localhost"
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def build_email(
    message: Message, to: list[str], mail_from: str, idempotency_key: str, ctx: DeliveryContext
) -> EmailMessage:
    """The MIME message (UTF-8 plain text) for ``message``."""
    mail = EmailMessage()
    mail["From"] = mail_from
    mail["To"] = ", ".join(to)
    mail["Subject"] = message.title or "Cairn"
    mail["Date"] = format_datetime(ctx.now)
    mail["Message-ID"] = message_id(idempotency_key, mail_from)
    mail["Auto-Submitted"] = "auto-generated"
    body = message.text if not message.link else f"{message.text}\n\n{message.link}"
    mail.set_content(body)
    return mail


def email_addresses(recipients: Recipients, usernames: dict[int, str]) -> list[str]:
    """The addresses to send to: given addresses plus users whose username is an address."""
    out: list[str] = []
    for address in (*recipients.addresses, *(usernames.get(u, "") for u in recipients.user_ids)):
        address = address.strip()
        if "@" in parseaddr(address)[1] and address not in out:
            out.append(address)
    return out


class Email:
    """Sends the message by SMTP to every recipient in one message."""

    key = "email"

    def deliver(self, ctx: DeliveryContext, message: Message, recipients: Recipients) -> Delivery:
        """Sends one e-mail; 4xx answers and network errors are retryable, 5xx are not."""
        if not ctx.settings.smtp_url:
            raise DeliveryError(
                "email: CAIRN_SMTP_URL is not set", retryable=False, code="not_configured"
            )
        to = email_addresses(recipients, _usernames(ctx, recipients))
        if not to:
            raise DeliveryError(
                "email: no recipient has an e-mail address", retryable=False, code="no_recipient"
            )
        try:
            config = parse_smtp_url(ctx.settings.smtp_url)
        except ValueError as exc:
            raise DeliveryError(f"email: {exc}", retryable=False, code="not_configured") from exc
        mail = build_email(message, to, ctx.settings.mail_from, ctx.idempotency_key, ctx)
        try:
            refused = _send(config, mail)
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"email: the server answered {exc.smtp_code} {exc.smtp_error!r}",
                retryable=400 <= exc.smtp_code < 500,
                code="smtp_refused",
            ) from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(
                f"email: every recipient was refused: {sorted(exc.recipients)}",
                retryable=False,
                code="smtp_refused",
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"email: {exc}", retryable=True, code="smtp_unavailable") from exc
        return Delivery(
            self.key,
            sent_to=tuple(a for a in to if a not in refused),
            detail={"message_id": mail["Message-ID"], "refused": sorted(refused)},
        )


def _usernames(ctx: DeliveryContext, recipients: Recipients) -> dict[int, str]:
    if not recipients.user_ids or ctx.session is None:
        return {}
    import sqlalchemy as sa

    from runtime.models import User

    rows = ctx.session.execute(
        sa.select(User.id, User.username).where(
            User.workspace_id == ctx.workspace_id, User.id.in_(recipients.user_ids)
        )
    )
    return {int(row.id): str(row.username) for row in rows}


def _send(config: SmtpConfig, mail: EmailMessage) -> dict[str, tuple[int, bytes]]:
    client: smtplib.SMTP
    if config.implicit_tls:
        client = smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout_s,
            context=ssl.create_default_context(),
        )
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout_s)
    with client:
        if config.starttls:
            client.starttls(context=ssl.create_default_context())
        if config.username:
            client.login(config.username, config.password or "")
        return client.send_message(mail)


register_channel(Email())
