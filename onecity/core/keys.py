"""Development secrets kept under var/keys/ when the environment does not provide them.

Production sets every secret in the environment; a laptop or CI machine gets stable random
secrets created once, readable only by the owner.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def dev_secret(var_dir: Path, name: str, length: int = 50, *, kind: str = "token") -> str:
    key_dir = Path(var_dir) / "keys"
    key_dir.mkdir(parents=True, exist_ok=True)
    path = key_dir / name
    if path.exists():
        return path.read_text().strip()
    if kind == "fernet":
        from cryptography.fernet import Fernet

        value = Fernet.generate_key().decode()
    else:
        value = secrets.token_urlsafe(length)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value
