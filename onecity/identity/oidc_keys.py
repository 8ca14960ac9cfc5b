"""The RS256 key that signs OneCity ID tokens, and the previous key kept for rotation.

Where the keys come from:

* ``ONECITY_OIDC_KEY_FILE`` (``settings.OIDC_KEY_FILE``): a PEM file the operator manages;
  ``ONECITY_OIDC_PREVIOUS_KEY_FILES`` lists earlier keys that are still published.
* Otherwise the key lives in ``settings.SIGNING_KEY_DIR/oidc-rsa.pem`` (created once, mode
  0600) and the previous one, if any, in ``oidc-rsa.previous.pem`` next to it.
  ``onecity oidc key rotate`` moves the active key to the previous slot and creates a new one.

``install_keys()`` runs from ``IdentityConfig.ready()``: it writes the PEMs into
``settings.OAUTH2_PROVIDER`` (the dict django-oauth-toolkit reads) and reloads DOT's settings,
so the key survives ``override_settings(OAUTH2_PROVIDER={**settings.OAUTH2_PROVIDER, ...})``.
The active key signs; active and previous keys are both published in the JWKS, so relying
parties that cached the old key set keep verifying tokens during a rotation.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

ACTIVE_NAME = "oidc-rsa.pem"
PREVIOUS_NAME = "oidc-rsa.previous.pem"
KEY_SIZE = 2048


@dataclass(frozen=True)
class OidcKeys:
    active_pem: str
    previous_pems: tuple[str, ...]
    active_path: Path
    managed: bool  # True when the key lives in SIGNING_KEY_DIR (rotatable by the CLI)


def _generate_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


def _write_private(path: Path, pem: str) -> None:
    """Write a private key readable by the owner only, atomically; never replaces an existing
    file (raises FileExistsError), so concurrent first starts agree on one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(pem)
        os.link(temp, path)
    finally:
        temp.unlink()


def _read_pem(path: Path) -> str:
    text = path.read_text()
    serialization.load_pem_private_key(text.encode("ascii"), password=None)  # fail fast on a bad file
    return text


def key_dir() -> Path:
    return Path(settings.SIGNING_KEY_DIR)


def load_keys() -> OidcKeys:
    """Read the signing keys, creating the managed key on first use."""
    configured = getattr(settings, "OIDC_KEY_FILE", "")
    if configured:
        active_path = Path(configured)
        previous = tuple(_read_pem(Path(p)) for p in getattr(settings, "OIDC_PREVIOUS_KEY_FILES", []) if p)
        return OidcKeys(_read_pem(active_path), previous, active_path, managed=False)

    active_path = key_dir() / ACTIVE_NAME
    if not active_path.exists():
        with contextlib.suppress(FileExistsError):  # another process created it first: use theirs
            _write_private(active_path, _generate_pem())
    previous_path = key_dir() / PREVIOUS_NAME
    previous = (_read_pem(previous_path),) if previous_path.exists() else ()
    return OidcKeys(_read_pem(active_path), previous, active_path, managed=True)


def install_keys() -> OidcKeys:
    """Feed the keys to django-oauth-toolkit (called once at start-up)."""
    from oauth2_provider.settings import oauth2_settings

    keys = load_keys()
    settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] = keys.active_pem
    settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEYS_INACTIVE"] = list(keys.previous_pems)
    oauth2_settings.reload()
    return keys


def rotate_keys() -> OidcKeys:
    """Make a new active key; the current one becomes the (only) previous key.

    Running web processes keep signing with the old key until they restart, and the old key
    stays published, so nothing fails during the roll-out. Run it again (after ID tokens
    signed with the old key have expired) to drop the old key from the JWKS.
    """
    if getattr(settings, "OIDC_KEY_FILE", ""):
        raise RuntimeError("ONECITY_OIDC_KEY_FILE is set: rotate the key where it is managed.")
    active_path = key_dir() / ACTIVE_NAME
    previous_path = key_dir() / PREVIOUS_NAME
    load_keys()  # make sure an active key exists
    staging = key_dir() / (ACTIVE_NAME + ".new")
    staging.unlink(missing_ok=True)
    _write_private(staging, _generate_pem())
    os.replace(active_path, previous_path)
    os.replace(staging, active_path)
    return install_keys()


def key_id(pem: str) -> str:
    """The `kid` DOT publishes for a key: its RFC 7638 thumbprint."""
    from oauth2_provider.utils import jwk_from_pem

    return jwk_from_pem(pem).thumbprint()
