"""Typed data other apps hand to the notifications app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class OutboxMessage:
    """One message for `message_enqueue_many`: the same arguments as `message_enqueue`."""

    channel: str
    template: str
    body: str
    recipient: Any = None  # a user, for in-app messages
    address: str = ""  # a mobile number (SMS) or an e-mail address
    subject: str = ""
