"""Who may do what, in one table: the authorization policy of every front end.

The API, the command line and (later) the web pages ask :func:`require` before they call a
service function, and filter every read by :func:`visible_sites`: a user bound to a site sees
that site's participants only, and another site's participant does not exist for them (a 404,
never a 403 that would confirm it exists). Roles that are blinded to allocation never receive
an arm (:func:`sees_allocation`).

=============  ===================================================================
role           may
=============  ===================================================================
investigator   read the trial and their participants, screen, randomize, record
coordinator    the same as an investigator
monitor        read participants and the schedule, verify the audit trail, run the
               data-quality report
statistician   read the trial and the data-quality report; blinded: never sees an arm,
               so no export or report that carries one
unblinded_     the same, and the SDTM exports and the report with the arms (the
statistician   statistician who prepares the DSMB's unblinded reports)
dsmb           read the trial, the exports and the report, unblinded
admin          manage sites, users, passwords and tokens; every read and check (but no
               clinical entry: an admin does not screen, randomize or record)
=============  ===================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal
from typing import Protocol as Interface

from hepatrial.exceptions import NotAllowedError


class UserLike(Interface):
    """What the policy needs of a user: a stored ``User`` or a row read without the ORM."""

    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def site_code(self) -> str | None: ...
    @property
    def active(self) -> bool: ...


Action = Literal[
    "trial.read",
    "participant.read",
    "participant.screen",
    "participant.randomize",
    "record.write",
    "schedule.read",
    "audit.verify",
    "quality.read",
    "export.read",
    "site.manage",
    "user.manage",
]

_READ: Final[frozenset[Action]] = frozenset({"trial.read", "participant.read", "schedule.read"})
_CLINICAL: Final[frozenset[Action]] = _READ | frozenset(
    {"participant.screen", "participant.randomize", "record.write"}
)
_ADMIN: Final[frozenset[Action]] = frozenset(
    {"audit.verify", "quality.read", "export.read", "site.manage", "user.manage"}
)

POLICY: Final[Mapping[str, frozenset[Action]]] = {
    "investigator": _CLINICAL,
    "coordinator": _CLINICAL,
    "monitor": _READ | frozenset({"audit.verify", "quality.read"}),
    "statistician": frozenset({"trial.read", "quality.read"}),
    "unblinded_statistician": frozenset({"trial.read", "export.read", "quality.read"}),
    "dsmb": frozenset({"trial.read", "export.read", "quality.read"}),
    "admin": _READ | _ADMIN,
}
"""The actions each role may perform (the table in the module docstring)."""

UNBLINDED_ROLES: Final = frozenset(
    {"investigator", "coordinator", "monitor", "unblinded_statistician", "dsmb", "admin"}
)
"""Roles that see allocations (the seed trials are open-label for the sites that treat)."""


def roles_allowed(action: Action) -> tuple[str, ...]:
    """The roles the policy lets do ``action``, in the order of :data:`POLICY`."""
    return tuple(role for role, actions in POLICY.items() if action in actions)


def allowed(user: UserLike, action: Action) -> bool:
    """True when ``user``'s role may perform ``action`` (an inactive user may do nothing)."""
    return user.active and action in POLICY.get(user.role, frozenset())


def require(user: UserLike, action: Action) -> None:
    """Refuse with :class:`NotAllowedError` unless ``user`` may perform ``action``."""
    if not allowed(user, action):
        raise NotAllowedError(f"user={user.id!r} with role {user.role!r} may not {action}")


def visible_sites(user: UserLike) -> frozenset[str] | None:
    """The sites whose participants ``user`` may see: their own, or ``None`` for every site."""
    return None if user.site_code is None else frozenset({user.site_code})


def sees_allocation(user: UserLike) -> bool:
    """True when ``user`` may be told participants' arms."""
    return user.active and user.role in UNBLINDED_ROLES
