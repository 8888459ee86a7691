"""Build a trial store for a seed trial through the operations API.

Steps, all through :mod:`hepatrial.service` on a fresh SQLite store:

1. create the trial from the built-in protocol with an allocation seed, add its sites and an
   investigator;
2. screen every candidate and every screen failure (:func:`~hepatrial.service.screen_participant`);
3. randomize the candidates in date order (:func:`~hepatrial.service.randomize`): the arms come
   from the real concealed allocation;
4. reconstruct the participants' follow-up given those arms
   (:func:`hepatrial.demo.reconstruct.reconstruct`) and record visits, laboratory values,
   doses, quality of life, adverse events, outcomes and withdrawals.

The published arm sizes (27/24, 56/54) are a property of the allocation sequence. The
allocation seed is therefore chosen by a deterministic search: candidate seeds
``SHA-256("hepatrial-demo:<protocol>:<k>")`` for k = 0, 1, ... are replayed offline with
:class:`hepatrial.allocation.Allocator` on the candidates' screening factors, and the first
seed whose sequence gives the published arm sizes seals the trial. The store's allocations are
then checked against the offline replay.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepatrial import service
from hepatrial.allocation import Allocator, PriorAssignment, factor_levels
from hepatrial.demo.reconstruct import candidates_for, published_sizes, reconstruct
from hepatrial.demo.recording import record_participant
from hepatrial.demo.records import Candidate, LabRecord, ReconstructedTrial
from hepatrial.protocol import Protocol, load_protocol
from hepatrial.protocol.eligibility import screen
from hepatrial.store import init_db, session_factory

INVESTIGATOR = "inv-01"
ADMIN = "admin"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuiltTrial:
    """A seed trial recorded in a store: where it is and what was put into it."""

    trial: ReconstructedTrial
    protocol: Protocol
    database_url: str
    allocation_seed: bytes
    seed_search_draws: int


def _patient(
    age: int, sex: str, labs: Sequence[LabRecord], on: dt.date, facts: dict[str, Any]
) -> dict[str, Any]:
    return {
        "age": age,
        "sex": "female" if sex == "F" else "male",
        "labs": [
            {"analyte": r.test, "value": r.value, "unit": r.unit, "collected_on": on} for r in labs
        ],
        "facts": dict(facts),
    }


def _candidate_patient(c: Candidate) -> tuple[dict[str, Any], dt.date]:
    on = c.randomization_date + dt.timedelta(days=c.screening_day)
    return _patient(c.age, c.sex, c.screening_labs, on, c.facts), on


def allocation_seed(
    protocol: Protocol, people: Sequence[Candidate], sizes: dict[str, int], max_draws: int = 2000
) -> tuple[bytes, list[str], int]:
    """The first demo seed whose allocation sequence gives ``sizes``, its arms and its index."""
    allocator = Allocator.from_protocol(protocol)
    factors = []
    for c in people:
        patient, on = _candidate_patient(c)
        result = screen(protocol, patient, on=on)
        factors.append(
            factor_levels(protocol, {**result.values, "site": c.site})
            if protocol.allocation.factors
            else {}
        )
    for k in range(max_draws):
        seed = hashlib.sha256(f"hepatrial-demo:{protocol.id}:{k}".encode()).digest()
        history: list[PriorAssignment] = []
        for i, levels in enumerate(factors):
            arm = allocator.assign(seed=seed, history=history, factors=levels).arm
            history.append(PriorAssignment(i + 1, arm, levels))
        arms = [h.arm for h in history]
        if all(arms.count(a) == n for a, n in sizes.items()):
            return seed, arms, k
    raise RuntimeError(f"no demo seed among {max_draws} gives the arm sizes {sizes}")


def _setup(session: Any, protocol: Protocol, seed: bytes, sites: Sequence[str]) -> None:
    service.create_trial(session, protocol, seed=seed, admin=ADMIN)
    for code in sorted(set(sites)):
        service.add_site(session, code=code, name=f"Site {code}", user=ADMIN)
    service.add_user(session, user_id=INVESTIGATOR, role="investigator", user=ADMIN)


def _screen_all(session: Any, trial: ReconstructedTrial) -> None:
    entries: list[tuple[dt.date, str, str, dict[str, Any]]] = []
    for c in trial.candidates:
        patient, on = _candidate_patient(c)
        entries.append((on, c.subject_id, c.site, patient))
    for f in trial.screen_failures:
        patient = _patient(f.age, f.sex, f.screening_labs, f.screening_date, f.facts)
        entries.append((f.screening_date, f.screening_id, f.site, patient))
    for on, pid, site, patient in sorted(entries, key=lambda e: (e[0], e[1])):
        service.screen_participant(
            session, participant_id=pid, site=site, patient=patient, user=INVESTIGATOR, on=on
        )


def _randomize_all(session: Any, people: Sequence[Candidate], weights: np.ndarray) -> list[str]:
    arms = []
    for c, weight in zip(people, weights, strict=True):
        result = service.randomize(
            session,
            participant_id=c.subject_id,
            user=INVESTIGATOR,
            randomized_on=c.randomization_date,
            weight_kg=float(weight),
        )
        arms.append(result.arm)
    return arms


def build_trial_store(
    protocol_id: str,
    directory: str | Path,
    *,
    progress: Progress | None = None,
) -> BuiltTrial:
    """Record the reconstruction of ``protocol_id`` in ``directory/<protocol_id>.sqlite``."""
    note = progress or (lambda _message: None)
    protocol = load_protocol(protocol_id)
    people = candidates_for(protocol_id)
    note("searching the allocation seed")
    seed, expected, draws = allocation_seed(protocol, people, published_sizes(protocol_id))
    path = Path(directory) / f"{protocol_id}.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = init_db(url)
    weights = np.round(
        np.random.default_rng([len(people), 7]).normal(72.0, 12.0, len(people)).clip(45, 120), 1
    )
    with session_factory(engine)() as session:
        _setup(session, protocol, seed, [c.site for c in people])
        note("screening")
        _screen_all(session, reconstruct(protocol_id, arms=expected))
        note("randomizing")
        arms = _randomize_all(session, people, weights)
        if arms != expected:
            raise RuntimeError("the store's allocations differ from the offline replay of the seed")
        trial = reconstruct(protocol_id, arms=arms)
        note("recording follow-up")
        for k, participant in enumerate(trial.participants):
            record_participant(session, protocol, participant, INVESTIGATOR)
            if (k + 1) % 10 == 0:
                note(f"recording follow-up {k + 1}/{len(trial.participants)}")
    engine.dispose()
    return BuiltTrial(trial, protocol, url, seed, draws)
