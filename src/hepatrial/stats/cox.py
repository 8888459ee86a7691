"""Cox proportional-hazards regression (R ``coxph``): Efron/Breslow ties, strata, robust SE.

Front end over :mod:`hepatrial.stats._cox_engine`: takes a DataFrame and column names, drops
and counts incomplete records, turns text covariates into indicators against a reference level,
and reports hazard ratios with Wald intervals, the likelihood-ratio test and Harrell's C.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from scipy.stats import chi2

from hepatrial.exceptions import NotEstimableError
from hepatrial.stats._common import FloatArray, IntArray
from hepatrial.stats._concordance import concordance
from hepatrial.stats._cox_engine import (
    CoxFit,
    linear_predictor,
    make_strata,
    newton_raphson,
    score_residuals,
)
from hepatrial.stats._design import (
    RatioTerms,
    as_names,
    design_matrix,
    group_codes_of,
    model_frame,
    wald_terms,
)
from hepatrial.stats._frames import check_conf_level
from hepatrial.stats._survival_input import as_event_array, check_times
from hepatrial.stats.results import Exclusion, package_version

__all__ = ["CoxResult", "cox_engine", "cox_ph"]

Ties = Literal["efron", "breslow"]


@dataclass(frozen=True, eq=False)
class CoxResult(RatioTerms):
    """A fitted Cox model.

    Attributes
    ----------
    terms : DataFrame
        One row per term (covariate order; a text covariate gives one term per non-reference
        level, named ``"column=level"``): ``coef, hazard_ratio, se, se_model, z, p_value,
        ci_low, ci_high``. ``se`` is the robust SE when ``robust`` (as R uses it for z and P),
        otherwise the model-based SE ``se_model``; the interval is Wald's,
        ``exp(coef -/+ z se)``. ``coef``, ``hazard_ratio``, ``z``, ``ci`` and ``se_model`` read
        its columns.
    estimate, se, ci_low, ci_high, p_value : float
        The first term's hazard ratio, SE of its coefficient, interval and P (the main effect).
    loglik : tuple of float
        Log partial likelihood at beta = 0 and at the estimate (R's ``fit$loglik``).
    concordance : float
        Harrell's C of the linear predictor (R's ``fit$concordance["concordance"]``).
    """

    summary_columns: ClassVar[tuple[str, ...]] = (
        "term", "coef", "hazard_ratio", "se", "se_model", "z", "p_value", "ci_low", "ci_high"
    )  # fmt: skip

    terms: pd.DataFrame
    variance: FloatArray
    loglik: tuple[float, float]
    concordance: float
    iterations: int
    references: dict[str, Any]
    ties: Ties
    robust: bool
    conf_level: float
    n: int
    n_events: int
    n_strata: int
    n_clusters: int | None = None
    n_excluded: int = 0
    exclusions: tuple[Exclusion, ...] = ()
    method: str = "Cox proportional hazards, Newton-Raphson (R coxph defaults)"
    version: str = field(default_factory=package_version)

    @property
    def se_model(self) -> pd.Series:
        """Model-based (non-robust) SE per term; equal to ``terms["se"]`` unless robust."""
        return self.terms["se_model"]

    @property
    def likelihood_ratio(self) -> tuple[float, int, float]:
        """Likelihood-ratio test of all coefficients: statistic, df, P."""
        statistic = 2.0 * (self.loglik[1] - self.loglik[0])
        df = int(self.coef.size)
        return statistic, df, float(chi2.sf(statistic, df))

    def _details(self) -> dict[str, Any]:
        return {
            "ties": self.ties,
            "robust": self.robust,
            "references": self.references,
            "conf_level": self.conf_level,
            "n_strata": self.n_strata,
            "n_clusters": self.n_clusters,
            "n_events": self.n_events,
        }

    def __repr__(self) -> str:
        terms = ", ".join(f"{k}: HR {v:.3g}" for k, v in self.hazard_ratio.items())
        return (
            f"CoxResult({terms}; n={self.n}, events={self.n_events}, ties={self.ties!r}, "
            f"robust={self.robust}, excluded={self.n_excluded})"
        )


@dataclass(frozen=True)
class CoxEngineResult:
    """Engine output on plain arrays: the fit plus robust variance and concordance."""

    fit: CoxFit
    robust_variance: FloatArray | None
    concordance: float


def cox_engine(
    time: FloatArray,
    event: FloatArray,
    x: FloatArray,
    *,
    ties: Ties = "efron",
    strata: IntArray | None = None,
    robust: bool = False,
    cluster: IntArray | None = None,
    names: list[str] | None = None,
) -> CoxEngineResult:
    """Fit on complete numpy arrays (validation tests target this).

    The robust variance is ``D' D`` with ``D`` the dfbeta residuals (score residuals times the
    model variance) summed within clusters (Lin & Wei 1989; R ``coxph(robust=TRUE)``).
    """
    n, p = x.shape
    labels = names or [f"x{i + 1}" for i in range(p)]
    codes = np.zeros(n, dtype=np.int64) if strata is None else strata
    centered = x - x.mean(axis=0)
    groups = make_strata(time, event, centered, codes, ties == "efron")
    fit = newton_raphson(groups, p, labels)
    robust_variance = None
    if robust or cluster is not None:
        dfbeta = score_residuals(groups, fit.coef, n) @ fit.variance
        if cluster is not None:
            dfbeta = np.stack([np.bincount(cluster, dfbeta[:, j]) for j in range(p)], axis=1)
        robust_variance = dfbeta.T @ dfbeta
    order = np.concatenate([group.index[::-1] for group in groups])  # the engine's sort, reused
    c = concordance(time, event, linear_predictor(centered, fit.coef), codes, order)
    return CoxEngineResult(fit, robust_variance, c.estimate)


def cox_ph(
    data: Any,
    *,
    time: str,
    event: str,
    covariates: list[str],
    ties: Ties = "efron",
    strata: str | list[str] | None = None,
    robust: bool = False,
    cluster: str | None = None,
    reference: Any = None,
    conf_level: float = 0.95,
) -> CoxResult:
    """Cox proportional-hazards model, as R's ``coxph(Surv(time, event) ~ covariates)``.

    Parameters
    ----------
    data : DataFrame or mapping of columns
    time, event : str
        Columns of follow-up time (>= 0) and event indicator (1 event, 0 censored).
    covariates : list of str
        Numeric or boolean columns enter as they are; text/categorical columns become
        indicators of each level against ``reference`` (default: first sorted level).
    ties : {"efron", "breslow"}
        Handling of tied event times (R's default is Efron).
    strata : str or list of str, optional
        Columns defining strata with separate baseline hazards (``+ strata(s)`` in R).
    robust : bool
        Report the robust (sandwich) SE; implied by ``cluster``.
    cluster : str, optional
        Column of clusters for the robust SE (``cluster = id`` in R).
    reference : optional
        Reference level of the text covariate, or a mapping ``{column: level}``.
    conf_level : float
        Level of the hazard-ratio intervals.

    Returns
    -------
    CoxResult

    Raises
    ------
    ConvergenceError
        When a coefficient is infinite (monotone likelihood: a covariate separates patients with
        and without events), the information matrix is singular, or 20 iterations do not converge.

    Notes
    -----
    Partial likelihood (Cox 1972) with Efron's (1977) or Breslow's (1974) approximation for
    ties; Newton-Raphson with step halving and R's stopping rule ``|1 - l_old / l_new| <= 1e-9``.

    Examples
    --------
    >>> data = {"days": [5, 8, 12, 20, 25, 30, 41, 50], "death": [1, 1, 0, 1, 1, 0, 1, 0],
    ...         "arm": ["control", "control", "MSC", "control", "MSC", "control", "MSC", "MSC"]}
    >>> fit = cox_ph(data, time="days", event="death", covariates=["arm"])
    >>> round(float(fit.coef["arm=control"]), 6)  # R: coef(coxph(Surv(days, death) ~ arm))
    1.585808
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"ties={ties!r} is not one of ['efron', 'breslow']")
    check_conf_level(conf_level)
    strata_cols, cluster_cols = as_names(strata), as_names(cluster)
    used = model_frame(data, [time, event, *covariates, *strata_cols, *cluster_cols])
    frame = used.frame
    t = frame[time].to_numpy(dtype=np.float64)
    e = as_event_array(event, frame[event].to_numpy(dtype=np.float64))
    check_times(time, t)
    if not np.any(e > 0):
        raise NotEstimableError(
            f"{event}: none of the {e.size} records used has an event; the Cox partial "
            "likelihood needs at least one"
        )
    x, names, references = design_matrix(frame, covariates, reference)
    codes = group_codes_of(frame, strata_cols)
    clusters = group_codes_of(frame, cluster_cols) if cluster_cols else None
    result = cox_engine(
        t, e, x, ties=ties, strata=codes, robust=robust, cluster=clusters, names=names
    )
    return _assemble(result, names, references, ties, conf_level, t, e, codes, clusters, used)


def _assemble(
    result: CoxEngineResult,
    names: list[str],
    references: dict[str, Any],
    ties: Ties,
    conf_level: float,
    time: FloatArray,
    event: FloatArray,
    strata: IntArray,
    clusters: IntArray | None,
    used: Any,
) -> CoxResult:
    fit = result.fit
    se_model = np.sqrt(np.diag(fit.variance))
    robust = result.robust_variance is not None
    variance = result.robust_variance if result.robust_variance is not None else fit.variance
    se = np.sqrt(np.diag(variance))
    terms = wald_terms(fit.coef, se, names, conf_level)
    terms.insert(3, "se_model", se_model)
    return CoxResult(
        terms=terms,
        variance=variance,
        loglik=(fit.loglik_null, fit.loglik),
        concordance=result.concordance,
        iterations=fit.iterations,
        references=references,
        ties=ties,
        robust=robust,
        conf_level=conf_level,
        n=int(time.size),
        n_events=int(event.sum()),
        n_strata=int(strata.max()) + 1 if strata.size else 1,
        n_clusters=None if clusters is None else int(clusters.max()) + 1,
        n_excluded=used.n_excluded,
        exclusions=used.exclusions,
    )
