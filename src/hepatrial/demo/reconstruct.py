"""Entry point of the synthetic reconstructions of the seed trials.

SYNTHETIC RECONSTRUCTION: participant-level data generated, from a documented seed, to be
consistent with the published aggregates of MATCH (:mod:`hepatrial.demo.match`) and of the
MSC-ACLF trial (:mod:`hepatrial.demo.msc_aclf`). Each module's docstring gives the account of
how every published number constrains the data. None of it is any trial's real data.
"""

from __future__ import annotations

from collections.abc import Sequence

from hepatrial.demo import match, msc_aclf
from hepatrial.demo.records import Candidate, ReconstructedTrial

SEED_TRIALS = ("match", "msc-aclf")


def _module(protocol_id: str):  # type: ignore[no-untyped-def]
    modules = {"match": match, "msc-aclf": msc_aclf}
    if protocol_id not in modules:
        raise ValueError(
            f"protocol_id={protocol_id!r} has no reconstruction; "
            f"seed trials: {', '.join(SEED_TRIALS)}"
        )
    return modules[protocol_id]


def candidates_for(protocol_id: str) -> tuple[Candidate, ...]:
    """The randomized participants of a seed trial as known before randomization."""
    people: tuple[Candidate, ...] = _module(protocol_id).candidates()
    return people


def published_sizes(protocol_id: str) -> dict[str, int]:
    """Published arm sizes by protocol arm id."""
    if protocol_id == "match":
        return {match.ARMS[0]: match.N_MACROPHAGE, match.ARMS[1]: match.N_CONTROL}
    _module(protocol_id)
    return {msc_aclf.ARMS[0]: msc_aclf.N_MSC, msc_aclf.ARMS[1]: msc_aclf.N_SMT}


def reconstruct(protocol_id: str, *, arms: Sequence[str] | None = None) -> ReconstructedTrial:
    """The reconstruction of ``protocol_id`` (``arms`` in candidate order, or seeded)."""
    trial: ReconstructedTrial = _module(protocol_id).reconstruct(arms=arms)
    return trial
