"""MSC for HBV-related ACLF (Lin et al., Hepatology 2017) rebuilt as synthetic participants.

SYNTHETIC RECONSTRUCTION. How each published number constrains the data:

* 56 MSC and 54 standard-medical-therapy (SMT) participants: the arm sizes.
* 24-week survival 73.2% (61.6-84.8) vs 55.6% (42.3-68.9): with no censoring before week 24
  the Kaplan-Meier estimate is the surviving fraction and the plain Greenwood interval is
  ``p ± 1.96 sqrt(p(1-p)/n)``; only 41/56 and 30/54 reproduce all six numbers, so 15 and 24
  participants die before day 168 and everyone else is followed to day 168.
* Log-rank P = 0.03: a crude comparison of 15/56 and 24/54 gives 0.053, so the timing of the
  deaths matters. Death days are drawn from seeded Weibull distributions (earlier in SMT) and
  redrawn, in a seeded search, until the log-rank P lies in [0.026, 0.034].
* Severe infection 16.1% vs 33.3%, P = 0.04: 9/56 vs 18/54 participants with at least one
  severe infection (Pearson chi-square without continuity correction: P = 0.036).
* Death from multi-organ failure or severe infection 17.9% vs 37.0%, P = 0.02: 10/56 vs 20/54
  of the deaths carry that cause category (Pearson chi-square: P = 0.024); the other 5 and 4
  deaths have other causes. Every participant who dies of infection has a recorded severe
  infection before death.
* MSC improved bilirubin and MELD: survivors' bilirubin falls faster with MSC; non-survivors'
  bilirubin and INR rise towards death. Weekly MSC infusions x4 from day 1 while alive.
* Fever more frequent with MSC in weeks 5-24: non-serious pyrexia in 14 MSC vs 5 SMT.
* Not published (illustrative): screening numbers, dates, ages, sex, laboratory values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from hepatrial.demo._arms import arms_at_published_sizes
from hepatrial.demo._labs import continuous_meld
from hepatrial.demo.records import (
    AdverseEventRecord,
    Candidate,
    ClinicalEventRecord,
    DeathRecord,
    DoseRecord,
    LabRecord,
    Participant,
    PublishedFigure,
    ReconstructedTrial,
    ScreenFailure,
)
from hepatrial.stats.logrank import logrank

SEED = 20170101
N_MSC = 56
N_SMT = 54
ARMS = ("msc", "standard-medical-therapy")
DEATHS = {"MSC": 15, "SMT": 24}
MOF_OR_INFECTION_DEATHS = {"MSC": 10, "SMT": 20}
INFECTION_DEATHS = {"MSC": 4, "SMT": 9}
SEVERE_INFECTION = {"MSC": 9, "SMT": 18}
FEVER = {"MSC": 14, "SMT": 5}
FOLLOW_UP_DAYS = 168
VISIT_DAYS = (0, 7, 14, 21, 28, 56, 84, 168)
P_WINDOW = (0.026, 0.034)
BILIRUBIN_UMOL_PER_MG = 17.1
CREATININE_UMOL_PER_MG = 88.4
_INFECTIONS = ("Spontaneous bacterial peritonitis", "Pneumonia", "Sepsis", "Fungal infection")
_OTHER_CAUSES = ("Upper gastrointestinal haemorrhage", "Hepatic encephalopathy", "Cerebral oedema")
_SCREEN_FAILURES = (
    ("MELD above 30", 11),
    ("hepatocellular carcinoma", 4),
    ("co-infection with HCV or HIV", 3),
    ("age over 65", 4),
)

LogrankP = Callable[[np.ndarray, np.ndarray, np.ndarray], float]


def project_logrank_p(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> float:
    """Two-sided log-rank P from :func:`hepatrial.stats.logrank`."""
    return float(logrank(time, event, group).p_value)


def search_death_days(
    rng: np.random.Generator, logrank_p: LogrankP = project_logrank_p, max_draws: int = 5000
) -> dict[str, np.ndarray]:
    """Seeded search for death days (1-167) whose log-rank P lies in :data:`P_WINDOW`.

    Survivors are censored at day 168. Each draw takes Weibull(shape 0.9) death days with
    scale 45 (MSC) and 24 days (SMT), truncated to 3-167; the first draw inside the window is
    kept. Raises ``RuntimeError`` if no draw qualifies (never with the default seed).
    """
    group = np.repeat([1, 0], [N_MSC, N_SMT])
    for _ in range(max_draws):
        days = {
            "MSC": _weibull_days(rng, DEATHS["MSC"], 45.0),
            "SMT": _weibull_days(rng, DEATHS["SMT"], 24.0),
        }
        time, event = _survival_arrays(days)
        if P_WINDOW[0] <= logrank_p(time, event, group) <= P_WINDOW[1]:
            return days
    raise RuntimeError(f"no death-day draw gave a log-rank P in {P_WINDOW} in {max_draws} draws")


def _weibull_days(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    days = np.ceil(scale * rng.weibull(0.9, n)).astype(np.int64)
    return np.asarray(np.clip(days, 3, FOLLOW_UP_DAYS - 1), dtype=np.int64)


def _survival_arrays(days: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    parts_t, parts_e = [], []
    for arm, n in (("MSC", N_MSC), ("SMT", N_SMT)):
        died = days[arm]
        parts_t.append(np.concatenate([died, np.full(n - died.size, FOLLOW_UP_DAYS)]))
        parts_e.append(np.concatenate([np.ones(died.size), np.zeros(n - died.size)]))
    return np.concatenate(parts_t).astype(float), np.concatenate(parts_e)


@dataclass(frozen=True)
class _Fate:
    arm: str
    death_day: int | None
    cause: str
    category: str
    infection_day: int | None
    fever_day: int | None

    @property
    def stop(self) -> int:
        return self.death_day if self.death_day is not None else FOLLOW_UP_DAYS


def _arm_fates(rng: np.random.Generator, arm: str, n: int, death_days: np.ndarray) -> list[_Fate]:
    deaths = list(rng.permutation(death_days))
    n_mof, n_inf = MOF_OR_INFECTION_DEATHS[arm], INFECTION_DEATHS[arm]
    fates = []
    for k in range(n):
        day = int(deaths[k]) if k < len(deaths) else None
        cause, category = "", ""
        if day is not None:
            if k < n_inf:
                cause, category = "Severe infection", "multi-organ failure or severe infection"
            elif k < n_mof:
                cause, category = "Multi-organ failure", "multi-organ failure or severe infection"
            else:
                cause, category = str(rng.choice(_OTHER_CAUSES)), "other"
        fates.append(_Fate(arm, day, cause, category, None, None))
    return _with_infections_and_fever(rng, arm, fates)


def _with_infections_and_fever(
    rng: np.random.Generator, arm: str, fates: list[_Fate]
) -> list[_Fate]:
    n_inf = INFECTION_DEATHS[arm]
    others = [k for k in range(n_inf, len(fates))]
    extra = rng.choice(others, size=SEVERE_INFECTION[arm] - n_inf, replace=False)
    infected = set(range(n_inf)) | {int(k) for k in extra}
    alive_after_28 = [k for k, f in enumerate(fates) if f.stop > 35]
    febrile = {int(k) for k in rng.choice(alive_after_28, size=FEVER[arm], replace=False)}
    out = []
    for k, fate in enumerate(fates):
        infection = None
        if k in infected:
            infection = (
                int(rng.integers(max(1, fate.stop - 21), fate.stop - 1))
                if fate.death_day
                else int(rng.integers(5, 100))
            )
        fever = int(rng.integers(29, min(fate.stop, FOLLOW_UP_DAYS))) if k in febrile else None
        out.append(_Fate(fate.arm, fate.death_day, fate.cause, fate.category, infection, fever))
    return out


def _baseline_labs(rng: np.random.Generator) -> tuple[float, float, float]:
    while True:
        bilirubin = float(np.exp(rng.normal(np.log(230.0), 0.35)))
        inr = float(rng.uniform(1.5, 2.4))
        creatinine = float(rng.uniform(50.0, 135.0))
        meld = continuous_meld(
            bilirubin / BILIRUBIN_UMOL_PER_MG, inr, creatinine / CREATININE_UMOL_PER_MG
        )
        if bilirubin >= 180.0 and 17.5 <= meld <= 29.5:
            return bilirubin, inr, creatinine


def _lab_course(
    rng: np.random.Generator, fate: _Fate, day: int, base: tuple[float, float, float]
) -> tuple[LabRecord, ...]:
    bilirubin, inr, creatinine = base
    if day == 0:
        factors = (1.0, 1.0, 1.0)
    elif fate.death_day is not None:
        progress = day / fate.death_day
        factors = (1.0 + 0.5 * progress, 1.0 + 0.35 * progress, 1.0 + 0.9 * progress**2)
    else:
        tau, floor = (30.0, 0.08) if fate.arm == "MSC" else (55.0, 0.12)
        decay = np.exp(-day / tau)
        inr_target = 1.1 + (inr - 1.1) * decay
        factors = (floor + (1.0 - floor) * decay, inr_target / inr, 1.0)
    noise = np.exp(rng.normal(0.0, 0.07, 3)) if day else np.ones(3)
    return (
        LabRecord(day, "bilirubin", float(bilirubin * factors[0] * noise[0]), "umol/L"),
        LabRecord(day, "inr", float(max(inr * factors[1] * noise[1], 0.9)), "ratio"),
        LabRecord(day, "creatinine", float(creatinine * factors[2] * noise[2]), "umol/L"),
    ) + ((LabRecord(day, "albumin", float(rng.normal(31.0, 3.5)), "g/L"),) if day == 0 else ())


def _events(
    rng: np.random.Generator, fate: _Fate
) -> tuple[tuple[AdverseEventRecord, ...], tuple[ClinicalEventRecord, ...]]:
    aes: list[AdverseEventRecord] = []
    events: list[ClinicalEventRecord] = []
    if fate.infection_day is not None:
        term = str(rng.choice(_INFECTIONS))
        aes.append(
            AdverseEventRecord(fate.infection_day, term, "Infections and infestations", True, False)
        )
        events.append(ClinicalEventRecord(fate.infection_day, "severe infection", term))
    if fate.fever_day is not None:
        aes.append(
            AdverseEventRecord(
                fate.fever_day,
                "Pyrexia",
                "General disorders and administration site conditions",
                False,
                False,
            )
        )
    return tuple(sorted(aes, key=lambda a: a.day)), tuple(events)


def _candidate(rng: np.random.Generator, number: int, date: dt.date) -> Candidate:
    bilirubin, inr, creatinine = _baseline_labs(rng)
    labs = (
        LabRecord(-1, "bilirubin", bilirubin, "umol/L"),
        LabRecord(-1, "inr", inr, "ratio"),
        LabRecord(-1, "creatinine", creatinine, "umol/L"),
    )
    return Candidate(
        subject_id=f"ACLF-{number:03d}",
        site="S01",
        age=int(rng.integers(20, 66)),
        sex="M" if rng.random() < 0.86 else "F",
        randomization_date=date,
        screening_day=-1,
        screening_labs=labs,
        facts={
            "hbsag_positive_over_6_months": True,
            "ascites_or_encephalopathy_within_4_weeks": True,
            "hcc": False,
            "other_active_malignancy": False,
            "pregnant_or_breastfeeding": False,
            "hcv_or_hiv_coinfection": False,
        },
        baseline={"bilirubin": bilirubin, "inr": inr, "creatinine": creatinine},
    )


def candidates(seed: int = SEED) -> tuple[Candidate, ...]:
    """The 110 people randomized in the MSC-ACLF trial, as known before randomization."""
    rng = np.random.default_rng([seed, 0])
    start = dt.date(2010, 6, 1)
    offsets = np.sort(rng.choice(np.arange(0, 1100), size=N_MSC + N_SMT, replace=False))
    return tuple(
        _candidate(rng, k + 1, start + dt.timedelta(days=int(d))) for k, d in enumerate(offsets)
    )


def _participant(rng: np.random.Generator, candidate: Candidate, fate: _Fate) -> Participant:
    base = (
        candidate.baseline["bilirubin"],
        candidate.baseline["inr"],
        candidate.baseline["creatinine"],
    )
    labs: list[LabRecord] = []
    for day in VISIT_DAYS:
        if day < fate.stop or (day == FOLLOW_UP_DAYS and fate.death_day is None):
            labs.extend(_lab_course(rng, fate, day, base))
    doses: tuple[DoseRecord, ...] = ()
    if fate.arm == "MSC":
        dose = round(float(rng.uniform(1.0, 10.0)), 1) * 1e5
        doses = tuple(DoseRecord(d, dose, "cells/kg") for d in (0, 7, 14, 21) if d < fate.stop)
    aes, events = _events(rng, fate)
    death = None
    if fate.death_day is not None:
        death = DeathRecord(fate.death_day, fate.cause, fate.category, True)
    return Participant(
        arm=ARMS[0] if fate.arm == "MSC" else ARMS[1],
        candidate=candidate,
        doses=doses,
        labs=tuple(labs),
        adverse_events=aes,
        events=events,
        death=death,
        last_contact_day=fate.stop,
    )


def _failure(rng: np.random.Generator, number: int, reason: str, first: dt.date) -> ScreenFailure:
    bilirubin, inr, creatinine = _baseline_labs(rng)
    facts: dict[str, bool | str | float] = {
        "hbsag_positive_over_6_months": True,
        "ascites_or_encephalopathy_within_4_weeks": True,
        "hcc": reason.startswith("hepatocellular"),
        "other_active_malignancy": False,
        "pregnant_or_breastfeeding": False,
        "hcv_or_hiv_coinfection": reason.startswith("co-infection"),
    }
    if reason.startswith("MELD"):
        bilirubin, inr, creatinine = bilirubin * 1.6, 4.2, creatinine * 2.2
    return ScreenFailure(
        screening_id=f"ACLF-S{number:03d}",
        site="S01",
        screening_date=first + dt.timedelta(days=int(rng.integers(0, 1000))),
        reason=reason,
        age=int(rng.integers(67, 78)) if reason.startswith("age") else int(rng.integers(20, 66)),
        sex="M" if rng.random() < 0.85 else "F",
        screening_labs=(
            LabRecord(0, "bilirubin", bilirubin, "umol/L"),
            LabRecord(0, "inr", inr, "ratio"),
            LabRecord(0, "creatinine", creatinine, "umol/L"),
        ),
        facts=facts,
    )


def _screen_failures(rng: np.random.Generator, first: dt.date) -> tuple[ScreenFailure, ...]:
    reasons = [reason for reason, count in _SCREEN_FAILURES for _ in range(count)]
    return tuple(_failure(rng, k + 1, reason, first) for k, reason in enumerate(reasons))


def _figures() -> tuple[PublishedFigure, ...]:
    src = "Lin et al., Hepatology 2017 (doi 10.1002/hep.29189), abstract"
    km = "Kaplan-Meier at day 168, plain Greenwood CI, 41/56 and 30/54 survivors"
    chi = "Pearson chi-square without continuity correction"
    return (
        PublishedFigure("n_msc", "Randomized to MSC", 56, 0, src, "arm size"),
        PublishedFigure("n_smt", "Randomized to SMT", 54, 0, src, "arm size"),
        PublishedFigure("surv_msc", "24-week survival, MSC (%)", 73.2, 1, src, km),
        PublishedFigure("surv_msc_low", "24-week survival, MSC, lower (%)", 61.6, 1, src, km),
        PublishedFigure("surv_msc_high", "24-week survival, MSC, upper (%)", 84.8, 1, src, km),
        PublishedFigure("surv_smt", "24-week survival, SMT (%)", 55.6, 1, src, km),
        PublishedFigure("surv_smt_low", "24-week survival, SMT, lower (%)", 42.3, 1, src, km),
        PublishedFigure("surv_smt_high", "24-week survival, SMT, upper (%)", 68.9, 1, src, km),
        PublishedFigure("logrank_p", "Log-rank P", 0.03, 2, src, "seeded search of death days"),
        PublishedFigure("infection_msc", "Severe infection, MSC (%)", 16.1, 1, src, "9/56"),
        PublishedFigure("infection_smt", "Severe infection, SMT (%)", 33.3, 1, src, "18/54"),
        PublishedFigure("infection_p", "Severe infection P", 0.04, 2, src, chi),
        PublishedFigure(
            "mof_msc", "Death from MOF or severe infection, MSC (%)", 17.9, 1, src, "10/56"
        ),
        PublishedFigure(
            "mof_smt", "Death from MOF or severe infection, SMT (%)", 37.0, 1, src, "20/54"
        ),
        PublishedFigure("mof_p", "Death from MOF or severe infection P", 0.02, 2, src, chi),
    )


def reconstruct(
    seed: int = SEED, arms: Sequence[str] | None = None, logrank_p: LogrankP = project_logrank_p
) -> ReconstructedTrial:
    """Rebuild the MSC-ACLF trial as synthetic participants consistent with its abstract.

    ``arms`` gives the arm of each candidate in :func:`candidates` order (for example as
    allocated by the randomization service); without it a seeded permutation is used.
    """
    people = candidates(seed)
    allocated = arms_at_published_sizes(arms, seed, ((ARMS[0], N_MSC), (ARMS[1], N_SMT)))
    rng = np.random.default_rng([seed, 2])
    death_days = search_death_days(rng, logrank_p)
    fates = {
        "MSC": iter(_arm_fates(rng, "MSC", N_MSC, death_days["MSC"])),
        "SMT": iter(_arm_fates(rng, "SMT", N_SMT, death_days["SMT"])),
    }
    participants = tuple(
        _participant(rng, c, next(fates["MSC" if arm == ARMS[0] else "SMT"]))
        for c, arm in zip(people, allocated, strict=True)
    )
    return ReconstructedTrial(
        protocol="msc-aclf",
        title="MSC-ACLF (allogeneic bone-marrow MSCs in HBV-related ACLF)",
        citation="Lin BL et al. Hepatology 2017. doi:10.1002/hep.29189.",
        seed=seed,
        arms={ARMS[0]: "Mesenchymal stromal cells", ARMS[1]: "Standard medical therapy"},
        candidates=people,
        follow_up_days=FOLLOW_UP_DAYS,
        visit_days=VISIT_DAYS,
        participants=participants,
        screen_failures=_screen_failures(rng, people[0].randomization_date - dt.timedelta(days=20)),
        figures=_figures(),
        account=tuple(line.strip() for line in (__doc__ or "").split("\n* ")[1:]),
    )
