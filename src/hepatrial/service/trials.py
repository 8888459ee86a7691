"""Setting up a trial: the trial itself with its sealed seed, sites and users."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hepatrial.checks.personal import text_problems
from hepatrial.exceptions import ConflictError, InvalidRecordError, NotFoundError
from hepatrial.protocol.loader import load_protocol
from hepatrial.protocol.models import ParticipantCodes, Protocol
from hepatrial.service._common import (
    acting_user,
    check_code,
    get_trial,
    protocol_yaml,
    sha256_text,
    write_operation,
)
from hepatrial.store import ROLES, AllocationSecret, Site, Trial, User
from hepatrial.store.sealing import MAGIC, ensure_key, key_path, seal

SEED_BYTES = 32


@dataclass(frozen=True)
class TrialInfo:
    """What anyone may know about the trial: protocol identity and the seed's commitment.

    ``seed_commitment`` is the SHA-256 of the sealed seed. Publishing it at the start lets an
    outsider check, once the seed is revealed after the trial, that the allocation sequence was
    fixed in advance (see ``docs/operations.md``).
    """

    trial_id: int
    protocol_name: str
    protocol_version: str
    protocol_sha256: str
    seed_commitment: str


def _info(trial: Trial) -> TrialInfo:
    return TrialInfo(
        trial_id=trial.id,
        protocol_name=trial.protocol_name,
        protocol_version=trial.protocol_version,
        protocol_sha256=trial.protocol_sha256,
        seed_commitment=trial.seed_commitment,
    )


def create_trial(
    session: Session,
    protocol: Protocol | str,
    *,
    seed: bytes | None = None,
    admin: str = "admin",
    participant_codes: ParticipantCodes | None = None,
) -> TrialInfo:
    """Create the store's trial, seal its allocation seed, and create its first admin user.

    The seed is stored sealed with the key of :func:`hepatrial.store.sealing.key_path`
    (created with mode 0600 when it does not exist yet), never in usable form.

    Parameters
    ----------
    session
        A session on an initialised store (:func:`hepatrial.store.init_db`) holding no trial.
    protocol
        A validated :class:`~hepatrial.protocol.Protocol` or a built-in name / YAML path.
    seed
        The allocation seed (at least 16 bytes). Default: 32 bytes from :mod:`secrets`. Give
        one only to reproduce a sequence (tests, simulations); a real trial leaves it unset.
    admin
        Pseudonymous id of the first admin user, who then adds sites and users.
    participant_codes
        The form every participant code must follow (pattern and example), replacing the
        protocol's own ``participant_codes``; kept in the stored protocol snapshot.

    Raises
    ------
    RecordError
        The store already holds a trial, or the seed is too short.
    """
    if isinstance(protocol, str):
        protocol = load_protocol(protocol)
    if participant_codes is not None:
        protocol = protocol.model_copy(update={"participant_codes": participant_codes})
    if seed is not None and len(seed) < 16:
        raise InvalidRecordError(f"seed has {len(seed)} bytes; a sealed seed needs at least 16")
    check_code("admin", admin)
    plain = secrets.token_bytes(SEED_BYTES) if seed is None else bytes(seed)
    text = protocol_yaml(protocol)
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    key = ensure_key(key_path(url))
    with write_operation(session, admin):
        if session.execute(select(Trial.id)).first() is not None:
            raise ConflictError("this store already holds a trial; one store holds one trial")
        trial = Trial(
            protocol_name=protocol.id,
            protocol_version=protocol.version,
            protocol_yaml=text,
            protocol_sha256=sha256_text(text),
            seed_commitment=hashlib.sha256(plain).hexdigest(),
        )
        session.add(trial)
        session.flush()
        sealed = seal(plain, key, trial_id=trial.id, commitment=trial.seed_commitment)
        session.add(AllocationSecret(trial_id=trial.id, seed=sealed))
        session.add(User(id=admin, role="admin", site_code=None, active=True))
    return _info(trial)


def seal_stored_seed(session: Session, *, user: str) -> bool:
    """Seal the plain seed of a store created before sealing (``user``: an admin).

    Returns False when the seed is sealed already. The key is the store's
    (:func:`hepatrial.store.sealing.key_path`, created if missing); the change is audited.
    """
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    with write_operation(session, user):
        acting_user(session, user, "site.manage", "sealing the allocation seed")
        trial = get_trial(session, lock=True)
        secret = session.get(AllocationSecret, trial.id)
        if secret is None or secret.seed.startswith(MAGIC):
            return False
        if hashlib.sha256(secret.seed).hexdigest() != trial.seed_commitment:
            raise ConflictError("the stored seed does not match the trial's commitment")
        key = ensure_key(key_path(url))
        secret.seed = seal(secret.seed, key, trial_id=trial.id, commitment=trial.seed_commitment)
    return True


def trial_info(session: Session) -> TrialInfo:
    """Protocol identity and seed commitment of the store's trial."""
    return _info(get_trial(session))


def add_site(session: Session, *, code: str, name: str, user: str) -> None:
    """Add a recruiting site (``user`` must be an admin)."""
    check_code("site code", code)
    problems = text_problems("name", name)
    if problems:
        raise InvalidRecordError(problems=problems)
    with write_operation(session, user):
        acting_user(session, user, "site.manage", "adding a site")
        if session.get(Site, code) is not None:
            raise ConflictError(f"site {code!r} already exists")
        session.add(Site(code=code, name=name.strip()))


def add_user(
    session: Session, *, user_id: str, role: str, site: str | None = None, user: str
) -> None:
    """Add a pseudonymous user with one role, optionally bound to one site (``user``: an admin).

    Roles: investigator and coordinator screen, randomize and record; monitor and
    statistician read; admin manages sites and users. A user bound to a site acts only on
    that site's participants.
    """
    check_code("user_id", user_id)
    if role not in ROLES:
        raise InvalidRecordError(f"role={role!r} is not a role; roles: {', '.join(ROLES)}")
    with write_operation(session, user):
        acting_user(session, user, "user.manage", "adding a user")
        if session.get(User, user_id) is not None:
            raise ConflictError(f"user {user_id!r} already exists")
        if site is not None and session.get(Site, site) is None:
            raise NotFoundError(f"site={site!r} does not exist; add it first with add_site")
        session.add(User(id=user_id, role=role, site_code=site, active=True))
