"""Outgoing mail behind a small interface: SMTP in production, an outbox folder elsewhere.

``mailer_from_config`` picks the backend from plain configuration values, so that the
web app, the CLI and the tests build the same thing. The outbox backend writes one
``.eml`` file per message under ``<data>/mail/``; administrators read them in the
intranet, developers open them with any mail client.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import logging
import os
import re
import smtplib
import ssl
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from documents.errors import DomainError, NotFound

logger = logging.getLogger(__name__)

MAX_SUBJECT = 200
MAX_RECIPIENTS = 500
_EMAIL = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"']+$")
_OUTBOX_NAME = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{32}\.eml$")


class MailError(DomainError):
    """A message could not be sent or written to the outbox."""

    status = 503


@dataclass
class Attachment:
    """A file joined to a message."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class Message:
    """A plain-text message to one or more recipients (sent as blind copies), with an optional HTML alternative."""

    to: Sequence[str]
    subject: str
    body: str
    attachments: list[Attachment] = field(default_factory=list)
    #: HTML version of ``body``, escaped by whoever composed it; "" sends plain text only.
    html: str = ""


def one_line(value: str, *, limit: int = MAX_SUBJECT) -> str:
    """A header-safe value: CR, LF and control characters become spaces."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    return " ".join(text.split())[:limit]


def valid_address(address: str) -> bool:
    """True for a plausible single e-mail address (no display name, no list, no newline)."""
    return bool(_EMAIL.match(address or "")) and len(address) <= 254


def build(message: Message, *, sender: str) -> EmailMessage:
    """The MIME message; recipients that are not plain addresses are dropped."""
    recipients = sorted({a.strip().lower() for a in message.to if valid_address(a.strip())})
    if not recipients:
        raise MailError("Aucun destinataire valide : le message n'a pas été envoyé.", status=422)
    if len(recipients) > MAX_RECIPIENTS:
        raise MailError(f"Trop de destinataires ({len(recipients)}) : {MAX_RECIPIENTS} au plus.", status=422)
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = one_line(sender, limit=254)
    # One visible address only: members must not learn each other's addresses from a notification.
    msg["To"] = one_line(sender, limit=254)
    msg["Bcc"] = ", ".join(recipients)
    msg["Subject"] = one_line(message.subject)
    msg["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "intranet.local"
    msg["Message-ID"] = email.utils.make_msgid(domain=one_line(domain, limit=100))
    msg.set_content(message.body.replace("\r\n", "\n"), charset="utf-8")
    if message.html:
        msg.add_alternative(message.html.replace("\r\n", "\n"), subtype="html", charset="utf-8")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        msg.add_attachment(attachment.data, maintype=maintype, subtype=subtype or "octet-stream",
                           filename=one_line(attachment.filename, limit=100))
    return msg


class Mailer(ABC):
    """Where messages go."""

    sender: str

    @abstractmethod
    def send(self, message: Message) -> str:
        """Send ``message``; return an identifier (file name or Message-ID). Raise ``MailError``."""


class OutboxMailer(Mailer):
    """Writes each message as ``<UTC time>-<uuid>.eml`` in a folder (development and tests)."""

    def __init__(self, folder: Path | str, *, sender: str = "intranet@passeurs.local") -> None:
        self.folder = Path(folder)
        self.sender = sender

    def send(self, message: Message) -> str:
        """Write the message atomically (temporary file, then rename)."""
        msg = build(message, sender=self.sender)
        name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex}.eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as fh:
                fh.write(msg.as_bytes())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / name)
        except OSError as exc:
            raise MailError(f"Le message n'a pas pu être écrit dans la boîte d'envoi ({exc.strerror}).") from exc
        return name


class SmtpMailer(Mailer):
    """Sends through an SMTP relay (STARTTLS and login when configured)."""

    def __init__(self, host: str, port: int = 25, *, user: str = "", password: str = "",
                 starttls: bool = True, sender: str = "intranet@passeurs.local", timeout: float = 15.0) -> None:
        self.host, self.port, self.user, self.password = host, port, user, password
        self.starttls, self.sender, self.timeout = starttls, sender, timeout

    def send(self, message: Message) -> str:
        """Deliver the message to the relay."""
        msg = build(message, sender=self.sender)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password)
                # The envelope carries the members only; "To" (the sender itself) gets no copy.
                smtp.send_message(msg, to_addrs=str(msg["Bcc"]).split(", "))
        except (OSError, smtplib.SMTPException) as exc:
            # The password never reaches the message: only the exception's class and host.
            raise MailError(
                f"Le serveur de messagerie {self.host}:{self.port} a refusé ou n'a pas répondu "
                f"({type(exc).__name__}) : vérifiez la configuration SMTP."
            ) from exc
        return str(msg["Message-ID"])


def mailer_from_config(config: Mapping[str, Any]) -> Mailer:
    """SMTP when ``MAIL_BACKEND`` is "smtp" (or unset with ``SMTP_HOST`` given), else the outbox folder."""
    backend = (config.get("MAIL_BACKEND") or ("smtp" if config.get("SMTP_HOST") else "outbox")).lower()
    sender = config.get("MAIL_FROM") or "intranet@passeurs.local"
    if config.get("TESTING") and backend == "smtp":
        # Tests never talk to a real relay, whatever the environment says.
        backend = "outbox"
    if backend == "smtp":
        if not config.get("SMTP_HOST"):
            raise MailError("MAIL_BACKEND vaut smtp mais SMTP_HOST n'est pas défini.")
        return SmtpMailer(str(config["SMTP_HOST"]), int(config.get("SMTP_PORT") or 25),
                          user=config.get("SMTP_USER") or "", password=config.get("SMTP_PASSWORD") or "",
                          starttls=bool(config.get("SMTP_STARTTLS", True)), sender=sender)
    if backend == "outbox":
        folder = config.get("MAIL_OUTBOX_DIR") or Path(config.get("DATA_DIR") or ".") / "mail"
        return OutboxMailer(folder, sender=sender)
    raise MailError(f"MAIL_BACKEND inconnu : « {backend} » (smtp ou outbox).")


# --------------------------------------------------------------------------- reading the outbox


@dataclass
class OutboxEntry:
    """One message of the outbox folder, as shown to administrators."""

    name: str
    subject: str
    recipients: list[str]
    date: dt.datetime | None
    size: int
    body: str = ""
    attachments: list[str] = field(default_factory=list)


def _entry(path: Path, *, with_body: bool) -> OutboxEntry:
    raw = path.read_bytes()
    msg = message_from_bytes(raw, policy=email.policy.default)
    recipients = [a for _n, a in email.utils.getaddresses([str(msg.get("Bcc", "")), str(msg.get("To", ""))]) if a]
    try:
        date = email.utils.parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
    except (TypeError, ValueError):
        date = None
    body, attachments = "", []
    if with_body:
        part = msg.get_body(preferencelist=("plain",))
        body = part.get_content().replace("\r\n", "\n") if part is not None else ""
        attachments = [a.get_filename() or "" for a in msg.iter_attachments()]
    return OutboxEntry(name=path.name, subject=str(msg.get("Subject", "")), recipients=recipients, date=date,
                       size=len(raw), body=body, attachments=attachments)


def list_outbox(folder: Path | str, *, limit: int = 500) -> list[OutboxEntry]:
    """Messages of the outbox folder, newest first."""
    root = Path(folder)
    if not root.is_dir():
        return []
    names = sorted((p for p in root.iterdir() if _OUTBOX_NAME.match(p.name)), key=lambda p: p.name, reverse=True)
    return [_entry(p, with_body=False) for p in names[:limit]]


def read_outbox(folder: Path | str, name: str) -> OutboxEntry:
    """One message with its text; the name must be one the outbox wrote (no path tricks)."""
    if not _OUTBOX_NAME.match(name or ""):
        raise NotFound("Message introuvable.")
    path = Path(folder) / name
    if not path.is_file():
        raise NotFound("Message introuvable.")
    return _entry(path, with_body=True)
