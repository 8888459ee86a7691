"""MATCH (Brennan et al., Nat Med 2025;31:979-987) rebuilt as synthetic participant-level data.

SYNTHETIC RECONSTRUCTION. How each published number constrains the data:

* 27 macrophage and 24 standard-care participants were randomized: the arm sizes.
* 26 of 27 received macrophages [secondary source]: one macrophage participant is never
  treated. Three participants of the original protocol had three monthly cycles; the
  reconstruction follows the amended single-infusion design of the protocol (day 7-11).
* ΔΔMELD = -0.87 (95% CI -1.79, 0.0), P = 0.06. The primary analysis population of the
  reconstruction is every randomized participant with a baseline and a day-90 MELD; nobody dies
  or withdraws before day 90, so it is all 51 (ANCOVA residual degrees of freedom 48). The CI
  bounds printed to two and one decimals pin the half-width inside (0.915, 0.920); the
  reconstruction targets 0.9175, i.e. SE = 0.9175 / t(0.975, 48). Day-90 changes are generated
  at random and then made to hit the estimate and SE exactly: the random part is replaced by its
  residual from the ANCOVA design and rescaled (see :func:`primary_changes`).
* Over 360 days 5 of 24 control participants had 10 serious adverse events, 4 liver-related,
  and 3 died (2 liver-related); no macrophage participant had a liver-related SAE or died. One
  macrophage participant has one non-liver SAE [secondary source].
* Not published (illustrative, marked in the account): screening numbers, sites, dates, ages,
  biomarkers and quality of life, which are generated without an arm effect.
* Liver stiffness by transient elastography was above 15 kPa at screening (eligibility,
  secondary source) and did not differ between arms ("no differences were observed in
  biomarkers"): day 0 repeats the screening reading, later readings vary around it with a
  common slow decline and no arm effect.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import stats as scipy_stats

from hepatrial.demo._arms import arms_at_published_sizes
from hepatrial.demo._labs import labs_for_meld
from hepatrial.demo.records import (
    AdverseEventRecord,
    Candidate,
    ClinicalEventRecord,
    DeathRecord,
    DoseRecord,
    LabRecord,
    Participant,
    PublishedFigure,
    QolRecord,
    ReconstructedTrial,
    ScreenFailure,
    WithdrawalRecord,
)
from hepatrial.protocol.instruments import eq5d5l_index

SEED = 20250110
N_MACROPHAGE = 27
N_CONTROL = 24
ESTIMATE = -0.87
HALF_WIDTH = 0.9175
VISIT_DAYS = (0, 28, 90, 180, 360)
VISIT_JITTER = {0: 0, 28: 2, 90: 5, 180: 10, 360: 20}
ARMS = ("macrophage", "standard-care")
FOLLOW_UP_DAYS = 360
SITES = ("S01", "S02", "S03")
AETIOLOGIES = ("alcohol", "masld", "other")

# (day, term, system organ class, liver-related, decompensation term or "")
_Sae = tuple[int, str, str, bool, str]
_CONTROL_SAES: tuple[tuple[_Sae, ...], ...] = (
    (
        (140, "Oesophageal varices haemorrhage", "Gastrointestinal disorders", True, "variceal"),
        (205, "Hepatic encephalopathy", "Nervous system disorders", True, "encephalopathy"),
    ),
    (
        (120, "Ascites", "Gastrointestinal disorders", True, "ascites"),
        (250, "Hepatocellular carcinoma", "Neoplasms benign, malignant and unspecified", True, ""),
    ),
    (
        (95, "Chronic obstructive pulmonary disease", "Respiratory disorders", False, ""),
        (160, "Pneumonia", "Infections and infestations", False, ""),
        (165, "Acute kidney injury", "Renal and urinary disorders", False, ""),
    ),
    (
        (75, "Cellulitis", "Infections and infestations", False, ""),
        (230, "Femur fracture", "Injury, poisoning and procedural complications", False, ""),
    ),
    ((300, "Atrial fibrillation", "Cardiac disorders", False, ""),),
)
_CONTROL_DEATHS = (
    DeathRecord(212, "Liver failure", "liver-related", True),
    DeathRecord(288, "Hepatocellular carcinoma", "liver-related", True),
    DeathRecord(176, "Sepsis due to pneumonia", "other", False),
    None,
    None,
)
_MACROPHAGE_SAE: _Sae = (
    150,
    "Lower respiratory tract infection",
    "Infections and infestations",
    False,
    "",
)
_MINOR_AES = (
    ("Fatigue", "General disorders and administration site conditions"),
    ("Pruritus", "Skin and subcutaneous tissue disorders"),
    ("Muscle spasms", "Musculoskeletal and connective tissue disorders"),
)
_PROCEDURE_AES = (
    ("Paraesthesia", "Nervous system disorders"),
    ("Vascular access site bruising", "Injury, poisoning and procedural complications"),
)
_SCREEN_FAILURES = (
    ("MELD outside 10-17", 8),
    ("liver stiffness 15 kPa or less", 4),
    ("previous decompensation", 5),
    ("hepatocellular carcinoma on screening imaging", 2),
)


def primary_changes(
    is_macrophage: np.ndarray, baseline: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Day-90 MELD changes whose ANCOVA arm effect and SE equal the published ones exactly.

    With design ``X = [1, arm, baseline]`` and random noise ``e``, the residual
    ``r = e - X (X'X)^-1 X'e`` is orthogonal to ``X``. Changes
    ``Δ = 0.3 + ESTIMATE·arm - 0.1·(baseline - mean) + c·r`` therefore have OLS arm coefficient
    exactly ``ESTIMATE`` and residual variance ``c² r'r / (n - 3)``; ``c`` is chosen so that
    ``SE = sqrt(s² [(X'X)^-1]_arm) = HALF_WIDTH / t(0.975, n - 3)``.
    """
    n = baseline.size
    design = np.column_stack([np.ones(n), is_macrophage.astype(float), baseline])
    noise = rng.normal(0.0, 1.4, n)
    beta, *_ = np.linalg.lstsq(design, noise, rcond=None)
    residual = noise - design @ beta
    inverse = np.linalg.inv(design.T @ design)
    df = n - design.shape[1]
    target_se = HALF_WIDTH / float(scipy_stats.t.ppf(0.975, df))
    scale = target_se / np.sqrt(residual @ residual / df * inverse[1, 1])
    centred = baseline - baseline.mean()
    return np.asarray(
        0.3 + ESTIMATE * is_macrophage - 0.1 * centred + scale * residual, dtype=np.float64
    )


def _randomization_dates(rng: np.random.Generator, n: int) -> list[dt.date]:
    start = dt.date(2019, 3, 4)
    offsets = np.sort(rng.choice(np.arange(0, 1100), size=n, replace=False))
    return [start + dt.timedelta(days=int(d)) for d in offsets]


def _meld_course(
    rng: np.random.Generator, base: float, change: float, sick: bool
) -> dict[int, float]:
    later = base + change + rng.normal(0.0, 0.8)
    course = {
        0: base,
        28: base + 0.4 * change + rng.normal(0.0, 0.5),
        90: base + change,
        180: later + (1.5 if sick else 0.0),
        360: later + rng.normal(0.0, 0.8) + (2.5 if sick else 0.0),
    }
    return {day: max(value, 7.0) if day != 90 else value for day, value in course.items()}


def _biomarkers(rng: np.random.Generator, day: int, level: float) -> list[LabRecord]:
    """ELF components (ng/mL) at a fibrosis level (log scale); albumin and platelets at day 0."""
    return [
        LabRecord(day, "ha", float(np.exp(np.log(60.0) + level)), "ng/mL"),
        LabRecord(day, "piiinp", float(np.exp(np.log(12.0) + 0.5 * level)), "ng/mL"),
        LabRecord(day, "timp1", float(np.exp(np.log(300.0) + 0.3 * level)), "ng/mL"),
    ] + (
        [
            LabRecord(day, "albumin", float(rng.normal(38.0, 4.0)), "g/L"),
            LabRecord(day, "platelets", float(max(rng.normal(115.0, 35.0), 30.0)), "10^9/L"),
        ]
        if day == 0
        else []
    )


def _doses(index: int, untreated: int, rng: np.random.Generator) -> tuple[DoseRecord, ...]:
    if index == untreated:
        return ()
    cells = round(float(rng.uniform(0.55, 1.0)), 2) * 1e9
    return (DoseRecord(int(rng.integers(7, 12)), cells, "cells"),)


def _adverse_events(
    rng: np.random.Generator, saes: tuple[_Sae, ...], treated: bool, horizon: int
) -> tuple[tuple[AdverseEventRecord, ...], tuple[ClinicalEventRecord, ...]]:
    aes = [AdverseEventRecord(d, t, soc, True, liver) for d, t, soc, liver, _ in saes]
    events = [ClinicalEventRecord(d, "decompensation", t) for d, t, _, _, dec in saes if dec]
    for term, soc in _MINOR_AES:
        if rng.random() < 0.25:
            aes.append(AdverseEventRecord(int(rng.integers(10, horizon)), term, soc, False, False))
    if treated:
        for term, soc in _PROCEDURE_AES:
            if rng.random() < 0.3:
                aes.append(AdverseEventRecord(int(rng.integers(1, 8)), term, soc, False, False))
    return tuple(sorted(aes, key=lambda a: a.day)), tuple(events)


@dataclass(frozen=True)
class _Fate:
    """What the reconstruction decides for one participant before generating measurements."""

    arm: str
    change: float
    saes: tuple[_Sae, ...] = ()
    death: DeathRecord | None = None
    withdrawal: WithdrawalRecord | None = None
    doses: tuple[DoseRecord, ...] = ()
    not_treated: str | None = None
    noise: tuple[tuple[float, float], ...] = ((0.0, 0.0),) * 4
    stiffness_log_change: tuple[float, ...] = (0.0,) * 4

    @property
    def stop(self) -> int:
        if self.death is not None:
            return self.death.day
        if self.withdrawal is not None:
            return self.withdrawal.day
        return FOLLOW_UP_DAYS + VISIT_JITTER[FOLLOW_UP_DAYS] + 1


HealthState = tuple[int, int, int, int, int]


@functools.cache
def _health_states() -> tuple[tuple[HealthState, ...], npt.NDArray[np.float64]]:
    states = [(a, b, c, d, e) for a, b, c, d, e in itertools.product(range(1, 6), repeat=5)]
    return tuple(states), np.array([eq5d5l_index(*state) for state in states])


def nearest_health_state(index: float) -> tuple[HealthState, float]:
    """The EQ-5D-5L health state whose England index is closest to ``index``, and its index.

    The reconstruction draws an index; a questionnaire records the five dimensions, from which
    the store computes the index again (:func:`hepatrial.protocol.instruments.eq5d5l_index`).
    """
    states, indices = _health_states()
    best = int(np.argmin(np.abs(indices - index)))
    return states[best], float(indices[best])


def _measurements(
    rng: np.random.Generator, candidate: Candidate, fate: _Fate
) -> tuple[tuple[LabRecord, ...], tuple[QolRecord, ...]]:
    base = candidate.baseline["meld"]
    sick = any(s[3] for s in fate.saes)
    course = _meld_course(rng, base, fate.change, sick)
    fibrosis = float(rng.normal(0.0, 0.5))
    eq5d = float(np.clip(rng.normal(0.74, 0.14), 0.2, 1.0))
    stiffness = float(candidate.facts["liver_stiffness_kpa"])
    labs: list[LabRecord] = []
    qol: list[QolRecord] = []
    for nominal in VISIT_DAYS:
        jitter = VISIT_JITTER[nominal]
        day = nominal + int(rng.integers(-jitter, jitter + 1))
        if day >= fate.stop:
            continue
        labs.extend(labs_for_meld(course[nominal], day, rng))
        if nominal != 28:
            fibrosis_noise, qol_noise = fate.noise[len(qol)]
            labs.extend(_biomarkers(rng, day, fibrosis + fibrosis_noise))
            change = fate.stiffness_log_change[len(qol)]
            kpa = round(float(np.clip(stiffness * np.exp(change), 2.5, 75.0)), 1)
            labs.append(LabRecord(day, "liver_stiffness", kpa, "kPa"))
            levels, score = nearest_health_state(float(np.clip(eq5d + qol_noise, 0.1, 1.0)))
            qol.append(QolRecord(day, "EQ-5D-5L", score, levels))
    return tuple(labs), tuple(qol)


def _candidate(rng: np.random.Generator, number: int, date: dt.date) -> Candidate:
    base = float(10.2 + 6.6 * rng.beta(1.6, 2.4))
    stiffness = float(rng.uniform(16.0, 35.0))
    screening_meld = float(np.clip(base + rng.normal(0.0, 0.4), 10.05, 16.95))
    return Candidate(
        subject_id=f"MATCH-{number:03d}",
        site=SITES[int(rng.integers(0, len(SITES)))],
        age=int(rng.integers(32, 75)),
        sex="M" if rng.random() < 0.62 else "F",
        randomization_date=date,
        screening_day=-14,
        screening_labs=labs_for_meld(screening_meld, -14, rng),
        facts={
            "compensated_cirrhosis": True,
            "liver_stiffness_kpa": round(stiffness, 1),
            "aetiology": str(rng.choice(AETIOLOGIES, p=[0.45, 0.35, 0.20])),
            "hcc": False,
            "other_active_malignancy": False,
            "pregnant_or_breastfeeding": False,
            "prior_liver_transplant": False,
        },
        baseline={"meld": base},
    )


def candidates(seed: int = SEED) -> tuple[Candidate, ...]:
    """The 51 people randomized in MATCH, as known before randomization (seeded)."""
    rng = np.random.default_rng([seed, 0])
    n = N_MACROPHAGE + N_CONTROL
    dates = _randomization_dates(rng, n)
    return tuple(_candidate(rng, i + 1, dates[i]) for i in range(n))


def _participant(rng: np.random.Generator, candidate: Candidate, fate: _Fate) -> Participant:
    labs, qol = _measurements(rng, candidate, fate)
    aes, events = _adverse_events(rng, fate.saes, bool(fate.doses), fate.stop)
    return Participant(
        arm=fate.arm,
        candidate=candidate,
        doses=fate.doses,
        labs=labs,
        adverse_events=aes,
        events=events,
        qol=qol,
        death=fate.death,
        withdrawal=fate.withdrawal,
        last_contact_day=fate.stop,
        not_treated_reason=fate.not_treated,
    )


def _centred_noise(rng: np.random.Generator, arms: np.ndarray) -> np.ndarray:
    """Visit-level noise of the fibrosis level and EQ-5D with a slow common drift.

    The paper found no difference in biomarkers or quality of life. The arm-and-visit means of
    the noise are shrunk by 70% towards zero, so that the reconstruction does not create such a
    difference by chance; both arms share the drift (fibrosis slowly up, EQ-5D slowly down).
    """
    noise = rng.normal(0.0, 1.0, (arms.size, 4, 2)) * np.array([0.2, 0.06])
    for arm in ARMS:
        noise[arms == arm] -= 0.7 * noise[arms == arm].mean(axis=0)
    drift = np.array([[0.0, 0.0], [0.03, -0.005], [0.06, -0.01], [0.1, -0.015]])
    return np.asarray(noise + drift)


def stiffness_log_changes(rng: np.random.Generator, arms: np.ndarray) -> np.ndarray:
    """Log-scale change of liver stiffness from day 0 at days 0, 90, 180 and 360, no arm effect.

    Reading-to-reading variation of transient elastography is about 15% (SD 0.15 on the log
    scale). As for the other biomarkers, the arm-and-visit means of the variation are shrunk by
    70% towards zero; both arms share a slow decline of about 4% a year. Day 0 is the screening
    reading itself (change 0).
    """
    noise = rng.normal(0.0, 0.15, (arms.size, 4))
    noise[:, 0] = 0.0
    for arm in ARMS:
        noise[arms == arm] -= 0.7 * noise[arms == arm].mean(axis=0)
    return np.asarray(noise + np.array([0.0, -0.01, -0.02, -0.04]))


def _fates(rng: np.random.Generator, arms: np.ndarray, changes: np.ndarray) -> list[_Fate]:
    macrophage = np.flatnonzero(arms == ARMS[0])
    control = np.flatnonzero(arms == ARMS[1])
    untreated = int(macrophage[0])
    sae_holders = {int(i): k for k, i in enumerate(rng.choice(control, size=5, replace=False))}
    macrophage_sae = int(rng.choice(macrophage[1:]))
    withdrawn = int(rng.choice([i for i in macrophage[1:] if i != macrophage_sae]))
    noise = _centred_noise(rng, arms)
    fates = []
    for i, arm in enumerate(arms):
        saes: tuple[_Sae, ...] = ()
        death = None
        if i in sae_holders:
            saes, death = _CONTROL_SAES[sae_holders[i]], _CONTROL_DEATHS[sae_holders[i]]
        elif i == macrophage_sae:
            saes = (_MACROPHAGE_SAE,)
        fates.append(
            _Fate(
                arm=str(arm),
                change=float(changes[i]),
                saes=saes,
                death=death,
                withdrawal=WithdrawalRecord(200, "withdrew consent") if i == withdrawn else None,
                doses=_doses(i, untreated, rng) if arm == ARMS[0] else (),
                not_treated="cell product did not meet release criteria"
                if i == untreated
                else None,
                noise=tuple((float(a), float(b)) for a, b in noise[i]),
            )
        )
    return fates


def _failing_profile(
    rng: np.random.Generator, reason: str
) -> tuple[float, dict[str, bool | str | float]]:
    meld = float(rng.uniform(10.5, 16.5))
    facts: dict[str, bool | str | float] = {
        "compensated_cirrhosis": True,
        "liver_stiffness_kpa": round(float(rng.uniform(16.0, 30.0)), 1),
        "aetiology": str(rng.choice(AETIOLOGIES)),
        "hcc": False,
        "other_active_malignancy": False,
        "pregnant_or_breastfeeding": False,
        "prior_liver_transplant": False,
    }
    if reason.startswith("MELD"):
        meld = float(rng.choice([rng.uniform(7.5, 9.6), rng.uniform(17.6, 21.0)]))
    elif reason.startswith("liver stiffness"):
        facts["liver_stiffness_kpa"] = round(float(rng.uniform(9.0, 14.5)), 1)
    elif reason.startswith("previous"):
        facts["compensated_cirrhosis"] = False
    else:
        facts["hcc"] = True
    return meld, facts


def _screen_failures(rng: np.random.Generator, first: dt.date) -> tuple[ScreenFailure, ...]:
    failures: list[ScreenFailure] = []
    for reason, count in _SCREEN_FAILURES:
        for _ in range(count):
            meld, facts = _failing_profile(rng, reason)
            failures.append(
                ScreenFailure(
                    screening_id=f"MATCH-S{len(failures) + 1:03d}",
                    site=SITES[int(rng.integers(0, len(SITES)))],
                    screening_date=first + dt.timedelta(days=int(rng.integers(0, 1000))),
                    reason=reason,
                    age=int(rng.integers(30, 76)),
                    sex="M" if rng.random() < 0.6 else "F",
                    screening_labs=labs_for_meld(meld, 0, rng),
                    facts=facts,
                )
            )
    return tuple(failures)


def _figures() -> tuple[PublishedFigure, ...]:
    src = "Brennan et al., Nat Med 2025;31:979-987, abstract"
    return (
        PublishedFigure(
            "ddmeld",
            "ΔΔMELD day 0→90 (macrophage − control)",
            -0.87,
            2,
            src,
            "arm coefficient of the ANCOVA, made exact by construction",
        ),
        PublishedFigure(
            "ddmeld_ci_low", "ΔΔMELD 95% CI, lower", -1.79, 2, src, "half-width 0.9175 on 48 df"
        ),
        PublishedFigure(
            "ddmeld_ci_high", "ΔΔMELD 95% CI, upper", 0.0, 1, src, "half-width below 0.92"
        ),
        PublishedFigure("ddmeld_p", "ΔΔMELD P value", 0.06, 2, src, "t(48) = 0.87 / SE"),
        PublishedFigure("n_macrophage", "Randomized to macrophages", 27, 0, src, "arm size"),
        PublishedFigure("n_control", "Randomized to standard care", 24, 0, src, "arm size"),
        PublishedFigure(
            "control_sae_participants",
            "Control participants with ≥1 SAE",
            5,
            0,
            src,
            "five control participants carry SAEs",
        ),
        PublishedFigure(
            "control_sae_events",
            "Control SAEs (events)",
            10,
            0,
            src,
            "ten SAE records in those five",
        ),
        PublishedFigure(
            "control_liver_sae_events",
            "Control liver-related SAEs",
            4,
            0,
            src,
            "four of the ten flagged liver-related",
        ),
        PublishedFigure("control_deaths", "Control deaths", 3, 0, src, "three deaths after day 90"),
        PublishedFigure(
            "control_liver_deaths",
            "Control liver-related deaths",
            2,
            0,
            src,
            "two of the three deaths liver-related",
        ),
        PublishedFigure(
            "macrophage_liver_sae_events",
            "Macrophage liver-related SAEs",
            0,
            0,
            src,
            "the one macrophage SAE is not liver-related",
        ),
        PublishedFigure(
            "macrophage_liver_deaths",
            "Macrophage liver-related deaths",
            0,
            0,
            src,
            "no macrophage deaths",
        ),
    )


def reconstruct(seed: int = SEED, arms: Sequence[str] | None = None) -> ReconstructedTrial:
    """Rebuild MATCH as synthetic participants consistent with the published aggregates.

    ``arms`` gives the arm of each candidate in :func:`candidates` order, for example as
    allocated by the randomization service; without it a seeded permutation is used.
    """
    people = candidates(seed)
    allocated = arms_at_published_sizes(arms, seed, ((ARMS[0], N_MACROPHAGE), (ARMS[1], N_CONTROL)))
    rng = np.random.default_rng([seed, 2])
    baseline = np.array([c.baseline["meld"] for c in people])
    changes = primary_changes(allocated == ARMS[0], baseline, rng)
    stiffness = stiffness_log_changes(np.random.default_rng([seed, 3]), allocated)
    fates = [
        replace(f, stiffness_log_change=tuple(float(x) for x in row))
        for f, row in zip(_fates(rng, allocated, changes), stiffness, strict=True)
    ]
    participants = tuple(_participant(rng, c, f) for c, f in zip(people, fates, strict=True))
    return ReconstructedTrial(
        protocol="match",
        title="MATCH (autologous macrophages in compensated cirrhosis)",
        citation="Brennan PN et al. Nat Med 2025;31:979-987. ISRCTN10368050.",
        seed=seed,
        arms={ARMS[0]: "Macrophage therapy", ARMS[1]: "Standard care"},
        candidates=people,
        follow_up_days=FOLLOW_UP_DAYS,
        visit_days=VISIT_DAYS,
        participants=participants,
        screen_failures=_screen_failures(rng, people[0].randomization_date - dt.timedelta(days=30)),
        figures=_figures(),
        account=tuple(line.strip() for line in (__doc__ or "").split("\n* ")[1:]),
    )
