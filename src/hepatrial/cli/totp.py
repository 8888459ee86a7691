"""The TOTP second factor on the command line: ``hepatrial user totp`` and ``user totp-confirm``.

Enrolment prints the provisioning URI (for an authenticator app's QR code) and the secret once;
the store keeps the secret sealed with the store's key file. The user confirms with a first code
from their authenticator; from then on browser sign-in needs a fresh code.
"""

from __future__ import annotations

from typing import Annotated

import typer

from hepatrial.cli.operations import Db, User, _done, _store, user_app
from hepatrial.service import auth
from hepatrial.store import DEFAULT_URL


def user_totp(
    user_id: Annotated[str, typer.Argument(help="Whose second factor to enrol.")],
    user: User,
    db: Db = DEFAULT_URL,
) -> None:
    """Give a user a new TOTP secret (admin, or the user themselves); printed once."""
    with _store(db) as session:
        enrolment = auth.start_totp(session, user_id=user_id, user=user)
    _done(f"TOTP secret for {user_id} (shown once: add it to an authenticator app now)")
    _done(enrolment.uri)
    _done(f"secret {enrolment.secret}")
    _done(f"then confirm: hepatrial user totp-confirm {user_id} --code <6 digits>")


def user_totp_confirm(
    user_id: Annotated[str, typer.Argument(help="Whose new TOTP secret to confirm.")],
    code: Annotated[str, typer.Option("--code", help="The authenticator's current code.")],
    db: Db = DEFAULT_URL,
) -> None:
    """Confirm a new TOTP secret with a first code from the authenticator."""
    with _store(db) as session:
        auth.confirm_totp(session, user_id=user_id, code=code)
    _done(f"second factor confirmed for {user_id}")


def register(app: typer.Typer) -> None:
    """Add ``user totp`` and ``user totp-confirm`` to ``hepatrial``."""
    user_app.command("totp")(user_totp)
    user_app.command("totp-confirm")(user_totp_confirm)
