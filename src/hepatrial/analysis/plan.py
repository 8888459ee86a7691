"""The analysis plan, run from the protocol's endpoints on locked analysis datasets.

Each protocol endpoint names its estimator, population, CI method and test; each of its
``additional`` analyses (sensitivity, supportive) is run the same way. Every result carries the
SHA-256 content hash of the ADaM datasets it was computed from (:func:`run_plan`), the options
used and every exclusion with its reason. Effects are experimental arm minus (or over) the
control arm, the control arm being the arm the protocol gives no intervention.

Endpoint variables map onto the datasets as follows: change and repeated-measures variables to
ADLB parameters (:data:`hepatrial.analysis.labs.VARIABLE_PARAMS`); time-to-event and binary
variables ``death``, ``death_or_transplant``, ``mof_or_infection_death``, ``severe_infection``
and ``decompensation`` to ADTTE parameters (an event with ``AVAL`` within the endpoint's
horizon); ``sae`` and ``liver_related_sae`` to treatment-emergent serious events in ADAE.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import hepatrial
from hepatrial.analysis.adam import AdamDatasets
from hepatrial.analysis.estimates import HANDLERS
from hepatrial.analysis.labs import paramcd_for
from hepatrial.analysis.results import (
    POPULATION_FLAGS,
    TTE_PARAMS,
    Analysis,
    Context,
    EndpointResult,
    PlanResults,
    base_result,
)
from hepatrial.exceptions import ConvergenceError, DataCheckError, NotEstimableError
from hepatrial.protocol import Protocol


def _arms(protocol: Protocol) -> tuple[str, str]:
    control = [a.id for a in protocol.arms if not protocol.interventions_for(a.id)]
    other = [a.id for a in protocol.arms if a.id not in control]
    if len(protocol.arms) != 2 or len(control) != 1:
        raise DataCheckError(
            f"protocol {protocol.id} has arms {protocol.arm_ids}: the plan compares exactly two "
            "arms, one of them without an intervention (the control)"
        )
    return other[0], control[0]


def analyses(protocol: Protocol) -> list[Analysis]:
    """Every analysis the protocol asks for: each endpoint's main analysis, then its others."""
    out = []
    for e in protocol.endpoints:
        role = "primary" if e.primary else "secondary"
        out.append(
            Analysis(e, role, e.estimator, e.population, e.ci.method, e.ci.level, e.covariates)
        )
        for extra in e.additional:
            ci = extra.ci or e.ci
            covariates = extra.covariates or (e.covariates if extra.estimator == "ancova" else ())
            out.append(
                Analysis(
                    e,
                    extra.role,
                    extra.estimator,
                    extra.population,
                    ci.method,
                    ci.level,
                    covariates,
                )
            )
    return out


def empty_arms(ctx: Context, population: str) -> list[str]:
    """The compared arms (experimental, control) with nobody in ``population``."""
    arms = set(ctx.population(population)["ARMCD"])
    return [arm for arm in (ctx.experimental, ctx.control) if arm not in arms]


def _explain_missing_p(result: EndpointResult) -> EndpointResult:
    """Say why a test gave no P value (e.g. chi-square or log-rank with no event at all)."""
    if result.p_value is None or not math.isnan(result.p_value):
        return result
    note = "; ".join(
        [
            *filter(None, [result.note]),
            "P not computed: the test statistic has zero variance on these data (e.g. no event, "
            "or no participant of one arm at risk or exposed when events occur)",
        ]
    )
    return dataclasses.replace(result, p_value=None, note=note)


def _run_one(ctx: Context, a: Analysis) -> EndpointResult:
    """One analysis, or a "not run" result with the reason when the data cannot support it.

    An arm with nobody in the analysis population (early in a trial, or when nobody has been
    treated yet) and an estimator refusing the data are results to report, not reasons to stop
    the plan: :class:`~hepatrial.exceptions.NotEstimableError` (too few participants or events,
    a single level, no variation), :class:`~hepatrial.exceptions.DataCheckError` (the datasets
    do not fit the endpoint) and :class:`~hepatrial.exceptions.ConvergenceError`. Any other
    error, a plain ``ValueError`` included, is a bug and propagates.
    """
    missing = empty_arms(ctx, a.population)
    if missing:
        note = "; ".join(f"no participant in arm {arm}" for arm in missing)
        return base_result(ctx, a, status="not run", note=f"{note} ({a.population} population)")
    try:
        return _explain_missing_p(HANDLERS[a.endpoint.kind](ctx, a))
    except ConvergenceError as error:
        return base_result(ctx, a, status="not run", note=f"did not converge: {error}")
    except (NotEstimableError, DataCheckError) as error:
        n = len(ctx.population(a.population))
        return base_result(
            ctx, a, status="not run", n=n, note=f"cannot be estimated from these data: {error}"
        )


def run_plan(
    adam: AdamDatasets, protocol: Protocol, *, options: dict[str, Any] | None = None
) -> PlanResults:
    """Run every analysis of ``protocol`` on the locked datasets ``adam``.

    The datasets are hashed once (:attr:`AdamDatasets.content_hash`) and the hash is stamped on
    every result.
    """
    experimental, control = _arms(protocol)
    ctx = Context(adam, protocol, experimental, control, adam.content_hash)
    results = []
    for a in analyses(protocol):
        results.append(_run_one(ctx, a))
    return PlanResults(
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        dataset_hash=ctx.dataset_hash,
        software_version=hepatrial.__version__,
        arms={arm.id: arm.label for arm in protocol.arms},
        control_arm=control,
        experimental_arm=experimental,
        results=tuple(results),
        options=dict(options or {}),
    )


__all__ = [
    "POPULATION_FLAGS",
    "TTE_PARAMS",
    "Analysis",
    "EndpointResult",
    "PlanResults",
    "analyses",
    "paramcd_for",
    "run_plan",
]
