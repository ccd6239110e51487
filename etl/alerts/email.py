"""E-mail over SMTP: one message per alert, with STARTTLS (default), implicit TLS or neither.

The password, if the server wants one, comes from the environment variable ``password_env``
names; it is never sent over a connection without TLS (the config refuses that) and never
appears in a log or an error.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from etl.alerts.base import (
    DEFAULT_TIMEOUT_S,
    AlertMessage,
    DestinationConfig,
    delivery_error,
    required_env,
)
from etl.model.base import EnvVarName, FieldError

Security = Literal["starttls", "ssl", "none"]
_ADDRESS = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[[0-9A-Fa-f:.]+\]$")
_DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}


class EmailDestination(DestinationConfig):
    """Addresses that receive each alert by e-mail, through an SMTP server."""

    example: ClassVar[dict[str, Any]] = {
        "type": "email", "host": "smtp.example.com", "from": "etl@example.com",
        "to": ["ops@example.com"], "username": "etl", "password_env": "T1_SMTP_PASSWORD"}
    type: Literal["email"] = Field(description="The kind of destination.")
    host: str = Field(description="The SMTP server's host name or address.")
    port: int | None = Field(
        default=None, ge=1, le=65535,
        description="The SMTP server's port; default 587 (starttls), 465 (ssl) or 25 (none).",
    )
    sender: str = Field(alias="from", description="The sender's address, e.g. etl@example.com.")
    to: tuple[str, ...] = Field(min_length=1, description="The addresses that receive alerts.")
    security: Security = Field(
        default="starttls",
        description=(
            "'starttls' (default: upgrade the connection before sending), 'ssl' (TLS from the "
            "first byte, usually port 465) or 'none' (a relay on a trusted network only)."
        ),
    )
    username: str | None = Field(default=None, description="The login, if the server wants one.")
    password_env: EnvVarName | None = Field(
        default=None, description="Name of the environment variable holding the password."
    )
    ca_file: str | None = Field(
        default=None,
        description="A PEM file of the certificate authority to trust (default: the system's).",
    )

    @field_validator("host")
    @classmethod
    def _host_name(cls, host: str) -> str:
        if not _HOST.match(host):
            raise ValueError("not a host name; write the server's name or address only, "
                             "e.g. smtp.example.com (no scheme, port or path)")
        return host

    @field_validator("sender", "to")
    @classmethod
    def _addresses(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        for address in (value,) if isinstance(value, str) else value:
            if not _ADDRESS.match(address):
                raise ValueError(f"{address!r} is not an e-mail address (name@example.com)")
        return value

    @model_validator(mode="after")
    def _login_over_tls(self) -> EmailDestination:
        if (self.username is None) != (self.password_env is None):
            raise FieldError(("username",), (
                "set both 'username' and 'password_env', or neither"))
        if self.password_env is not None and self.security == "none":
            raise FieldError(("security",), (
                "'none' would send the password unencrypted; use 'starttls' or 'ssl'"))
        return self

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port or _DEFAULT_PORTS[self.security]}"

    def label(self) -> str:
        return f"email via {self.server}"

    def send(self, message: AlertMessage, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        import smtplib
        import ssl

        password = (required_env(self.password_env, "password_env")
                    if self.password_env else None)
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail.set_content(message.text())
        port = self.port or _DEFAULT_PORTS[self.security]
        try:
            context = ssl.create_default_context(cafile=self.ca_file)
            smtp = (smtplib.SMTP_SSL(self.host, port, timeout=timeout_s, context=context)
                    if self.security == "ssl" else smtplib.SMTP(self.host, port, timeout=timeout_s))
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.username is not None and password is not None:
                    smtp.login(self.username, password)
                smtp.send_message(mail)
        except Exception as error:
            raise delivery_error(self.label(), error, self.secrets()) from None
