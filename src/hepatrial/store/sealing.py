"""Sealing the allocation seed with a key kept outside the database.

The seed fixes every allocation of a trial; whoever holds it can predict the next arm. The store
therefore keeps it only *sealed*: encrypted and authenticated with AES-256-GCM (the ``AESGCM``
primitive of the ``cryptography`` package) under a 32-byte key that lives in a file outside the
database, created at ``hepatrial init`` with mode 0600. A copy of the database alone (a backup,
a stolen file, a read-only account) holds only the sealed blob, which predicts nothing; the
published SHA-256 commitment is of the seed itself, and no value stored in the database hashes
to it. The associated data bind a sealed seed to its trial (id and commitment), so a blob moved
to another trial does not unseal.

Where the key file is (:func:`key_path`): ``$HEPATRIAL_KEY_FILE`` when set; otherwise, for a
SQLite store, ``<database file>.key`` beside it (one machine: keep the two apart in backups);
otherwise ``$HEPATRIAL_KEY_DIR`` (default ``~/.local/share/hepatrial/keys``) holds
``<host>-<port>-<database>.key``. A key-management service can replace the file later: only
:func:`read_key` and :func:`create_key_file` know where keys come from.

The key is read from the file each time a seed is unsealed, never cached in the process; stores
made before sealing (a plain 32-byte seed) still unseal, and ``hepatrial init`` always seals.

The same key seals users' TOTP secrets (:func:`seal_secret`), bound to the user by the
associated data: a copy of the database cannot produce anyone's second factor either.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import make_url

from hepatrial.exceptions import NotFoundError, SealingKeyError

MAGIC: Final = b"hepatrial-sealed-v1:"
"""Prefix of a sealed seed; anything else in the column is a plain seed of an older store."""

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
DEFAULT_KEY_DIR: Final = Path("~/.local/share/hepatrial/keys")


def key_path(url: str) -> Path:
    """Where the sealing key of the store at ``url`` is kept (see the module docstring)."""
    explicit = os.environ.get("HEPATRIAL_KEY_FILE")
    if explicit:
        return Path(explicit).expanduser()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(f"{parsed.database}.key")
    directory = Path(os.environ.get("HEPATRIAL_KEY_DIR") or DEFAULT_KEY_DIR).expanduser()
    name = f"{parsed.host or 'local'}-{parsed.port or 'default'}-{parsed.database or 'memory'}"
    return directory / f"{name}.key"


def ensure_key(path: Path) -> bytes:
    """The key in ``path``, created there first (mode 0600) when no file exists yet."""
    if not path.exists():
        create_key_file(path)
    return read_key(path)


def create_key_file(path: Path) -> Path:
    """Write a new random key to ``path`` with mode 0600; refuse to overwrite an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SealingKeyError(
            f"the key file {path} exists already; a key is never overwritten (it would make the "
            "seed of the store it seals unreadable): move it away, or set HEPATRIAL_KEY_FILE"
        ) from None
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(secrets.token_hex(KEY_BYTES) + "\n")
    return path


def read_key(path: Path) -> bytes:
    """The key in ``path``, refused when missing, malformed or readable by group or others."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise NotFoundError(
            f"the sealing key {path} is missing; allocations cannot be made or verified without "
            "it (set HEPATRIAL_KEY_FILE to where the key of this store is kept)"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SealingKeyError(
            f"the sealing key {path} is open to other users (mode {stat.S_IMODE(mode):o}); "
            f"restrict it with: chmod 600 {path}"
        )
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise SealingKeyError(f"{path} does not hold a {KEY_BYTES}-byte key in hexadecimal")
    return key


def _associated_data(trial_id: int, commitment: str) -> bytes:
    return f"hepatrial allocation seed|trial {trial_id}|{commitment}".encode()


def seal(seed: bytes, key: bytes, *, trial_id: int, commitment: str) -> bytes:
    """The sealed form of ``seed`` for trial ``trial_id`` (a fresh random nonce each time)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, seed, _associated_data(trial_id, commitment))
    return MAGIC + nonce + sealed


def unseal(stored: bytes, key_file: Path, *, trial_id: int, commitment: str) -> bytes:
    """The seed from its stored form; a plain seed of a store made before sealing is returned
    as it is, without reading a key."""
    if not stored.startswith(MAGIC):
        return stored
    body = stored[len(MAGIC) :]
    nonce, sealed = body[:NONCE_BYTES], body[NONCE_BYTES:]
    try:
        return AESGCM(read_key(key_file)).decrypt(
            nonce, sealed, _associated_data(trial_id, commitment)
        )
    except InvalidTag:
        raise SealingKeyError(
            f"the key in {key_file} does not unseal this store's allocation seed (another "
            "store's key, or a changed seed row): give the key made when this trial was created"
        ) from None


def _secret_data(user_id: str) -> bytes:
    return f"hepatrial sign-in secret|user {user_id}".encode()


def seal_secret(secret: bytes, key: bytes, *, user_id: str) -> bytes:
    """The sealed form of a user's sign-in secret (a TOTP key), bound to ``user_id``.

    Same key and AES-256-GCM as the allocation seed; the associated data name the user, so a
    sealed secret copied to another user's row does not unseal.
    """
    nonce = secrets.token_bytes(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, secret, _secret_data(user_id))


def unseal_secret(stored: bytes, key_file: Path, *, user_id: str) -> bytes:
    """A user's sign-in secret from its sealed form (see :func:`seal_secret`)."""
    body = stored[len(MAGIC) :] if stored.startswith(MAGIC) else b""
    nonce, sealed = body[:NONCE_BYTES], body[NONCE_BYTES:]
    try:
        return AESGCM(read_key(key_file)).decrypt(nonce, sealed, _secret_data(user_id))
    except (InvalidTag, ValueError):
        raise SealingKeyError(
            f"the key in {key_file} does not unseal the sign-in secret of user {user_id!r} "
            "(another store's key, or a secret moved from another user): enrol again"
        ) from None
