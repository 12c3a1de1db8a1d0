"""Outgoing mail: SMTP when ``SMTP_URL`` is set (smtp://user:pass@host:port, smtps://… for
TLS), otherwise each message is written to the outbox folder as an .eml file."""

from __future__ import annotations

import smtplib
import ssl
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Iterable
from urllib.parse import unquote, urlparse

SENDER = "gridcare@localhost"


def build_message(to: str, subject: str, body: str, sender: str = SENDER,
                  attachments: Iterable[tuple[str, bytes, str]] = ()) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4().hex}@gridcare>"
    message.set_content(body)
    for filename, content, mime in attachments:
        maintype, subtype = mime.split("/", 1)
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return message


def send(message: EmailMessage, smtp_url: str = "", outbox_dir: str = "instance/outbox",
         timeout: float = 30) -> str:
    """Deliver one message; raises smtplib/OSError errors so the caller can retry and report."""
    if not smtp_url:
        folder = Path(outbox_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}.eml"
        path.write_bytes(bytes(message))
        return f"outbox:{path}"
    url = urlparse(smtp_url)
    host, port = url.hostname or "localhost", url.port or (465 if url.scheme == "smtps" else 25)
    if url.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout,
                                                context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if url.scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)
    return f"smtp:{host}:{port}"
