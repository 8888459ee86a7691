"""The operations API: screening, randomization and follow-up over the trial store.

Python functions with a keyword-only ``session``; each writing function is one audited
transaction (nothing is partially written) and raises domain errors from
:mod:`hepatrial.exceptions`. May import the protocol, allocation, units, scores and store
packages; never a front end. The CLI (:mod:`hepatrial.cli.operations`) is a thin layer over it.
"""

from hepatrial.service.export import SdtmExport, export_sdtm, sdtm_domains
from hepatrial.service.labs import record_lab, record_labs
from hepatrial.service.quality import check_store
from hepatrial.service.quality_results import DataQualityReport
from hepatrial.service.randomization import (
    RandomizationResult,
    randomize,
    record_dose,
    record_missed_dose,
    verify_allocations,
)
from hepatrial.service.records import (
    WITHDRAWAL_REASONS,
    AdverseEventFields,
    record_adverse_event,
    record_discontinuation,
    record_outcome,
    record_qol,
    record_visit,
    record_withdrawal,
)
from hepatrial.service.schedule import DueItem, DueSchedule, due_schedule
from hepatrial.service.screening import StoredScreening, screen_participant
from hepatrial.service.tables import TABLE_NAMES, load_trial_tables
from hepatrial.service.trials import (
    TrialInfo,
    add_site,
    add_user,
    create_trial,
    seal_stored_seed,
    trial_info,
)

__all__ = [
    "TABLE_NAMES",
    "WITHDRAWAL_REASONS",
    "AdverseEventFields",
    "DataQualityReport",
    "DueItem",
    "DueSchedule",
    "RandomizationResult",
    "SdtmExport",
    "StoredScreening",
    "TrialInfo",
    "add_site",
    "add_user",
    "check_store",
    "create_trial",
    "due_schedule",
    "export_sdtm",
    "load_trial_tables",
    "randomize",
    "record_adverse_event",
    "record_discontinuation",
    "record_dose",
    "record_lab",
    "record_labs",
    "record_missed_dose",
    "record_outcome",
    "record_qol",
    "record_visit",
    "record_withdrawal",
    "screen_participant",
    "seal_stored_seed",
    "sdtm_domains",
    "trial_info",
    "verify_allocations",
]
