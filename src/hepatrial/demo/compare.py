"""Published versus reproduced: every figure of the seed papers read off the plan results.

A reproduced figure passes when, rounded half away from zero to the decimals the paper prints,
it equals the published number. One convention is reproduced rather than recomputed: the MSC-ACLF
paper prints survival intervals that equal the rounded estimate ± 1.96 × SE with the SE rounded
to three decimals (as statistical packages print it): 55.6 ± 1.96 × 6.8 = 42.3-68.9. The exact
plain Greenwood bound 68.81 would print as 68.8, so for these four bounds the comparison uses
the paper's printing convention and shows the exact value beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd

from hepatrial.analysis.adam import AdamDatasets
from hepatrial.analysis.results import PlanResults
from hepatrial.demo.records import PublishedFigure, ReconstructedTrial

Reader = Callable[[AdamDatasets, PlanResults], tuple[float, float | None]]


def round_half_up(value: float, decimals: int) -> float:
    """``value`` rounded half away from zero (via its shortest decimal representation)."""
    quantum = Decimal(1).scaleb(-decimals)
    d = Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)
    return float(d) + 0.0


def _arm(results: PlanResults, experimental: bool) -> str:
    return results.experimental_arm if experimental else results.control_arm


def _by_arm(endpoint: str, experimental: bool, key: str, scale: float = 1.0) -> Reader:
    def read(adam: AdamDatasets, results: PlanResults) -> tuple[float, float | None]:
        value = results.result(endpoint).by_arm[_arm(results, experimental)][key]
        return scale * value, None

    return read


def _main(endpoint: str, field: str) -> Reader:
    def read(adam: AdamDatasets, results: PlanResults) -> tuple[float, float | None]:
        value = getattr(results.result(endpoint), field)
        return float(value), None

    return read


def _printed_bound(endpoint: str, experimental: bool, sign: float) -> Reader:
    def read(adam: AdamDatasets, results: PlanResults) -> tuple[float, float | None]:
        v = results.result(endpoint).by_arm[_arm(results, experimental)]
        exact = 100.0 * (v["ci_high"] if sign > 0 else v["ci_low"])
        printed = round_half_up(100 * v["survival"], 1) + sign * 1.96 * 100 * round_half_up(
            v["std_err"], 3
        )
        return exact, printed

    return read


def _count_adsl(experimental: bool, column: str | None) -> Reader:
    def read(adam: AdamDatasets, results: PlanResults) -> tuple[float, float | None]:
        adsl = adam.adsl[adam.adsl["ARMCD"] == _arm(results, experimental)]
        return float(len(adsl) if column is None else (adsl[column] == "Y").sum()), None

    return read


def _liver_sae_events(experimental: bool) -> Reader:
    def read(adam: AdamDatasets, results: PlanResults) -> tuple[float, float | None]:
        ae = adam.adae
        mask = (ae["ARMCD"] == _arm(results, experimental)) & (ae["TRTEMFL"] == "Y")
        mask &= (ae["AESER"] == "Y") & (ae["AELIVER"] == "Y")
        return float(mask.sum()), None

    return read


READERS: dict[str, dict[str, Reader]] = {
    "match": {
        "ddmeld": _main("delta_meld_d90", "estimate"),
        "ddmeld_ci_low": _main("delta_meld_d90", "ci_low"),
        "ddmeld_ci_high": _main("delta_meld_d90", "ci_high"),
        "ddmeld_p": _main("delta_meld_d90", "p_value"),
        "n_macrophage": _count_adsl(True, None),
        "n_control": _count_adsl(False, None),
        "control_sae_participants": _by_arm("sae_participants", False, "events"),
        "control_sae_events": _by_arm("sae_events", False, "events"),
        "control_liver_sae_events": _liver_sae_events(False),
        "control_deaths": _by_arm("deaths", False, "events"),
        "control_liver_deaths": _count_adsl(False, "DTHLIVFL"),
        "macrophage_liver_sae_events": _liver_sae_events(True),
        "macrophage_liver_deaths": _count_adsl(True, "DTHLIVFL"),
    },
    "msc-aclf": {
        "n_msc": _count_adsl(True, None),
        "n_smt": _count_adsl(False, None),
        "surv_msc": _by_arm("survival_24w", True, "survival", 100.0),
        "surv_msc_low": _printed_bound("survival_24w", True, -1.0),
        "surv_msc_high": _printed_bound("survival_24w", True, 1.0),
        "surv_smt": _by_arm("survival_24w", False, "survival", 100.0),
        "surv_smt_low": _printed_bound("survival_24w", False, -1.0),
        "surv_smt_high": _printed_bound("survival_24w", False, 1.0),
        "logrank_p": _main("survival_24w", "p_value"),
        "infection_msc": _by_arm("severe_infection", True, "proportion", 100.0),
        "infection_smt": _by_arm("severe_infection", False, "proportion", 100.0),
        "infection_p": _main("severe_infection", "p_value"),
        "mof_msc": _by_arm("mof_or_infection_death", True, "proportion", 100.0),
        "mof_smt": _by_arm("mof_or_infection_death", False, "proportion", 100.0),
        "mof_p": _main("mof_or_infection_death", "p_value"),
    },
}

COLUMNS = ["trial", "key", "figure", "published", "reproduced", "as_printed", "matches", "basis"]


def _row(
    trial: ReconstructedTrial, figure: PublishedFigure, exact: float, printed: float | None
) -> dict[str, object]:
    shown = printed if printed is not None else exact
    rounded = round_half_up(shown, figure.decimals)
    return {
        "trial": trial.protocol,
        "key": figure.key,
        "figure": figure.label,
        "published": f"{figure.value:.{figure.decimals}f}",
        "reproduced": exact,
        "as_printed": f"{rounded:.{figure.decimals}f}",
        "matches": rounded == round_half_up(figure.value, figure.decimals),
        "basis": "printing convention (estimate ± 1.96 × SE to 3 decimals)"
        if printed is not None
        else figure.constraint,
    }


def compare(trial: ReconstructedTrial, adam: AdamDatasets, results: PlanResults) -> pd.DataFrame:
    """One row per published figure of ``trial``: published, reproduced, and whether they agree."""
    readers = READERS[trial.protocol]
    rows = []
    for figure in trial.figures:
        exact, printed = readers[figure.key](adam, results)
        rows.append(_row(trial, figure, exact, printed))
    return pd.DataFrame(rows, columns=COLUMNS)
