"""Mail backends: the outbox folder writer, SMTP against a real local SMTP server, the config choice."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from documents import mail
from documents.errors import NotFound
from documents.mail import Attachment, MailError, Message, OutboxMailer, SmtpMailer


def test_outbox_writes_one_eml_per_message(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path / "mail", sender="intranet@passeurs.test")
    name = mailer.send(Message(
        to=["Nadia@Melies.example", "nadia@melies.example", "paul@ville.example", "pas une adresse",
            "a@b.fr\r\nBcc: victime@x.fr"],
        subject="Convocation\r\nBcc: espion@x.fr : comité « régional »", body="Bonjour,\nÀ bientôt.",
        attachments=[Attachment("invitation.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")]))
    files = sorted(p.name for p in (tmp_path / "mail").iterdir())
    assert files == [name]
    msg = message_from_bytes((tmp_path / "mail" / name).read_bytes(), policy=policy.default)
    # Duplicates merged, invalid and header-injecting addresses dropped, subject on one line.
    assert msg["Bcc"] == "nadia@melies.example, paul@ville.example"
    assert msg["To"] == "intranet@passeurs.test"
    assert msg["Subject"] == "Convocation Bcc: espion@x.fr : comité « régional »"
    assert "espion" not in str(msg.get_all("Bcc"))
    # .eml files use CRLF line ends, like mail on the wire.
    assert msg.get_body(preferencelist=("plain",)).get_content() == "Bonjour,\r\nÀ bientôt.\r\n"
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "invitation.ics" and attachment.get_content_type() == "text/calendar"

    [entry] = mail.list_outbox(tmp_path / "mail")
    assert entry.name == name and entry.subject.startswith("Convocation")
    assert "nadia@melies.example" in entry.recipients
    full = mail.read_outbox(tmp_path / "mail", name)
    assert full.attachments == ["invitation.ics"] and full.body == "Bonjour,\nÀ bientôt.\n"


def test_no_valid_recipient_is_an_error(tmp_path: Path) -> None:
    mailer = OutboxMailer(tmp_path / "mail")
    with pytest.raises(MailError) as err:
        mailer.send(Message(to=["", "sans-arobase", "a@b"], subject="x", body="y"))
    assert err.value.status == 422 and "destinataire" in err.value.message
    assert not (tmp_path / "mail").exists() or list((tmp_path / "mail").iterdir()) == []


def test_outbox_write_failure_is_a_mail_error(tmp_path: Path) -> None:
    blocker = tmp_path / "mail"
    blocker.write_text("un fichier, pas un dossier")
    with pytest.raises(MailError) as err:
        OutboxMailer(blocker).send(Message(to=["a@b.fr"], subject="x", body="y"))
    assert "boîte d'envoi" in err.value.message


def test_read_outbox_refuses_other_names(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    for name in ("../secret.txt", "secret.txt", "20260101T000000Z-" + "0" * 32 + ".eml", ""):
        with pytest.raises(NotFound) as err:
            mail.read_outbox(folder, name)
        assert err.value.status == 404, name
        assert err.value.message == "Message introuvable.", name
    assert mail.list_outbox(tmp_path / "absent") == []


class _SmtpSink:
    """A tiny real SMTP server on localhost that records one message (no mock of smtplib)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.commands: list[str] = []
        self.data = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            stream = conn.makefile("rb")
            conn.sendall(b"220 sink ESMTP\r\n")
            while True:
                line = stream.readline()
                if not line:
                    return
                command = line.decode().strip()
                self.commands.append(command)
                verb = command.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    conn.sendall(b"250-sink\r\n250 SIZE 10000000\r\n")
                elif verb == "DATA":
                    conn.sendall(b"354 go\r\n")
                    chunks = []
                    while True:
                        data_line = stream.readline()
                        if data_line == b".\r\n":
                            break
                        chunks.append(data_line)
                    self.data = b"".join(chunks)
                    conn.sendall(b"250 queued\r\n")
                elif verb == "QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self.sock.close()


def test_smtp_delivers_to_a_real_server_without_bcc_header() -> None:
    sink = _SmtpSink()
    try:
        mailer = SmtpMailer("127.0.0.1", sink.port, starttls=False, sender="intranet@passeurs.test", timeout=5)
        message_id = mailer.send(Message(to=["nadia@melies.example", "paul@ville.example"], subject="Comité",
                                         body="Bonjour"))
        sink.thread.join(5)
    finally:
        sink.close()
    assert message_id.startswith("<") and message_id.endswith("@passeurs.test>")
    commands = [c.lower() for c in sink.commands]
    assert any(c.startswith("mail from:<intranet@passeurs.test>") for c in commands)
    assert sorted(c for c in commands if c.startswith("rcpt")) == [
        "rcpt to:<nadia@melies.example>", "rcpt to:<paul@ville.example>"]
    # Recipients travel in the envelope only: no member sees the others' addresses.
    assert b"Bcc:" not in sink.data and b"Subject: =?utf-8?q?Comit=C3=A9?=" in sink.data


def test_smtp_failure_is_a_clear_mail_error_without_password() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there any more
    mailer = SmtpMailer("127.0.0.1", port, user="u", password="motdepasse-secret", starttls=False, timeout=2)
    with pytest.raises(MailError) as err:
        mailer.send(Message(to=["a@b.fr"], subject="x", body="y"))
    assert f"127.0.0.1:{port}" in err.value.message and "motdepasse-secret" not in err.value.message
    assert err.value.status == 503


@pytest.mark.parametrize(("config", "expected"), [
    ({"MAIL_OUTBOX_DIR": "/tmp/x"}, OutboxMailer),
    ({"SMTP_HOST": "smtp.example", "SMTP_PORT": 587}, SmtpMailer),
    ({"SMTP_HOST": "smtp.example", "MAIL_BACKEND": "outbox", "MAIL_OUTBOX_DIR": "/tmp/x"}, OutboxMailer),
    ({"SMTP_HOST": "smtp.example", "TESTING": True, "MAIL_OUTBOX_DIR": "/tmp/x"}, OutboxMailer),
])
def test_backend_chosen_by_config(config: dict[str, Any], expected: type) -> None:
    mailer = mail.mailer_from_config({"MAIL_FROM": "intranet@passeurs.test", **config})
    assert type(mailer) is expected and mailer.sender == "intranet@passeurs.test"


def test_bad_backend_config() -> None:
    with pytest.raises(MailError):
        mail.mailer_from_config({"MAIL_BACKEND": "pigeon"})
    with pytest.raises(MailError):
        mail.mailer_from_config({"MAIL_BACKEND": "smtp"})
