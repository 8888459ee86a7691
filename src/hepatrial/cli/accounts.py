"""Accounts on the command line: ``hepatrial user password`` and ``hepatrial token``.

Direct-store administration (like Django's ``manage.py``): set a password, issue and revoke API
tokens. A password is read from standard input when it is not a terminal (one line), otherwise
asked for twice without echo; it never appears on the command line or in the shell history.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from hepatrial import service
from hepatrial.cli.operations import Db, User, _done, _store, user_app
from hepatrial.service import auth
from hepatrial.store import DEFAULT_URL

token_app = typer.Typer(help="Issue and revoke API tokens for integrations.", no_args_is_help=True)


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("new password: ")
    if getpass.getpass("again: ") != first:
        raise typer.BadParameter("the two entries differ", param_hint="password")
    return first


def user_password(
    user_id: Annotated[str, typer.Argument(help="Whose password to set.")],
    user: User,
    db: Db = DEFAULT_URL,
) -> None:
    """Set a user's password (admin, or the user themselves); unlocks a locked account."""
    password = _read_password()
    with _store(db) as session:
        auth.set_password(session, user_id=user_id, password=password, user=user)
    _done(f"password set for {user_id}")


def token_create(
    user_id: Annotated[str, typer.Argument(help="The user the token acts as.")],
    user: User,
    expires_days: Annotated[int, typer.Option(help="Days until it expires.")] = 90,
    db: Db = DEFAULT_URL,
) -> None:
    """Issue an API token (admin); it is printed once and only its hash is kept."""
    with _store(db) as session:
        issued = auth.create_token(session, user_id=user_id, user=user, expires_days=expires_days)
    _done(f"token #{issued.token_id} for {user_id}, expires {issued.expires_at:%Y-%m-%d}")
    _done(f"{issued.token}")
    _done("(shown once: store it now; use it as HEPATRIAL_TOKEN or Authorization: Bearer)")


def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Token number printed at creation.")],
    user: User,
    db: Db = DEFAULT_URL,
) -> None:
    """Revoke an API token (admin)."""
    with _store(db) as session:
        auth.revoke_token(session, token_id=token_id, user=user)
    _done(f"token #{token_id} revoked")


key_app = typer.Typer(help="The key that seals the allocation seed.", no_args_is_help=True)


def key_seal(user: User, db: Db = DEFAULT_URL) -> None:
    """Seal the plain allocation seed of a store created before sealing (admin)."""
    with _store(db) as session:
        sealed = service.seal_stored_seed(session, user=user)
    _done(
        "the allocation seed is now sealed" if sealed else "the allocation seed was sealed already"
    )


def register(app: typer.Typer) -> None:
    """Add ``user password`` and the ``token`` commands to ``hepatrial``."""
    user_app.command("password")(user_password)
    token_app.command("create")(token_create)
    token_app.command("revoke")(token_revoke)
    app.add_typer(token_app, name="token")
    key_app.command("seal")(key_seal)
    app.add_typer(key_app, name="key")
