"""Opaque public ids (ULIDs): sortable, unguessable enough for URLs, never sequential integers."""

from __future__ import annotations

from ulid import ULID


def new_public_id() -> str:
    return str(ULID()).lower()
