"""Mixed model for repeated measures (MMRM): LS means and treatment differences per visit.

The front end codes the fixed effects as R's ``model.matrix(~ group * visit + covariates)``
(treatment contrasts, first sorted level as baseline), applies the missing-data policy (rows
missing the outcome or any used column are excluded and counted; every other observation of
the subject is kept, which is valid under missing at random) and calls the REML engine in
:mod:`hepatrial.stats._reml`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import stats as sps

from hepatrial.exceptions import ConvergenceError, NotEstimableError
from hepatrial.stats._common import FloatArray
from hepatrial.stats._frames import (
    DataLike,
    as_frame,
    check_conf_level,
    complete_cases,
    covariate_columns,
    group_levels,
)
from hepatrial.stats._reml import (
    STRUCTURES,
    Pattern,
    RemlFit,
    build_patterns,
    fit_reml,
    satterthwaite_df,
)
from hepatrial.stats._reml import Structure as Covariance
from hepatrial.stats.results import Exclusion, ResultBase, package_version

_DIFFERENCE_COLUMNS = (
    "visit", "contrast", "estimate", "se", "df", "statistic", "p_value", "ci_low", "ci_high"
)  # fmt: skip


@dataclass(frozen=True, repr=False)
class MmrmResult(ResultBase):
    """REML fit of an MMRM with LS means and per-visit differences (other arm minus reference).

    ``lsmeans``: columns ``group, visit, estimate, se, df, ci_low, ci_high``;
    ``differences``: ``visit, contrast, estimate, se, df, statistic, p_value, ci_low, ci_high``;
    ``coefficients``: ``term, estimate, se`` in R's ``gls`` order and names;
    ``covariance``: the estimated unstructured covariance between visits. ``loglik`` is the
    REML log-likelihood as R's ``logLik(gls(..., method = "REML"))`` reports it.

    The main effect (``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value``) is the first
    difference at the last visit; ``n`` counts the observations (subject-visits) used, in the
    unit of ``n_excluded``; ``n_subjects`` the subjects.
    """

    summary_columns: ClassVar[tuple[str, ...]] = _DIFFERENCE_COLUMNS

    outcome: str
    group: str
    visit: str
    reference: Any
    visits: tuple[Any, ...]
    covariance_structure: Covariance
    lsmeans: pd.DataFrame
    differences: pd.DataFrame
    coefficients: pd.DataFrame
    covariance: pd.DataFrame
    loglik: float
    conf_level: float
    n_subjects: int
    n_observations: int
    n_excluded: int
    exclusions: tuple[Exclusion, ...]
    method: str = "MMRM, REML, Satterthwaite df"
    version: str = field(default_factory=package_version)

    def _main(self, column: str) -> float:
        last = self.differences[self.differences["visit"] == self.visits[-1]]
        return float(last[column].iloc[0])

    @property
    def estimate(self) -> float:
        """Difference (other arm minus reference) at the last visit."""
        return self._main("estimate")

    @property
    def se(self) -> float:
        """Standard error of the difference at the last visit."""
        return self._main("se")

    @property
    def ci_low(self) -> float:
        """Lower limit of the difference at the last visit."""
        return self._main("ci_low")

    @property
    def ci_high(self) -> float:
        """Upper limit of the difference at the last visit."""
        return self._main("ci_high")

    @property
    def p_value(self) -> float:
        """P of the difference at the last visit (t on Satterthwaite df)."""
        return self._main("p_value")

    @property
    def n(self) -> int:
        """Observations (subject-visits) used."""
        return self.n_observations

    @property
    def summary(self) -> pd.DataFrame:
        """The treatment differences per visit."""
        return self.differences

    def _details(self) -> dict[str, Any]:
        return {
            "covariance": self.covariance_structure,
            "outcome": self.outcome,
            "reference": self.reference,
            "visits": list(self.visits),
            "conf_level": self.conf_level,
            "n_subjects": self.n_subjects,
        }

    def __repr__(self) -> str:
        last = self.differences.iloc[-1]
        return (
            f"MmrmResult({self.outcome}: {last['contrast']} at {self.visit}={last['visit']} "
            f"= {last['estimate']:.4g} (SE {last['se']:.3g}, df {last['df']:.1f}), "
            f"P={last['p_value']:.3g}; {self.n_subjects} subjects, "
            f"{self.n_observations} observations, REML, {self.covariance_structure})"
        )


@dataclass(frozen=True)
class _Design:
    X: FloatArray
    names: list[str]
    groups: list[Any]
    visits: list[Any]
    grid: FloatArray


def _visit_levels(values: pd.Series) -> list[Any]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        present = set(values.dropna())
        return [level for level in values.cat.categories if level in present]
    return sorted(pd.unique(values))


def _indicators(values: pd.Series, levels: Sequence[Any]) -> FloatArray:
    if not levels:
        return np.empty((len(values), 0))
    return np.column_stack([(values == level).to_numpy(float) for level in levels])


def _design(frame: pd.DataFrame, group: str, visit: str, covariates: Sequence[str]) -> _Design:
    """Columns of ``~ group * visit + covariates`` in R's order (main effects, then g:v)."""
    groups = sorted(pd.unique(frame[group]))
    visits = _visit_levels(frame[visit])
    g = _indicators(frame[group], groups[1:])
    v = _indicators(frame[visit], visits[1:])
    coded = covariate_columns(frame, covariates)
    names = ["(Intercept)"] + [f"{group}{level}" for level in groups[1:]]
    names += [f"{visit}{level}" for level in visits[1:]] + list(coded.names)
    inter, inter_names = [], []
    for j, level_v in enumerate(visits[1:]):
        for i, level_g in enumerate(groups[1:]):
            inter.append(g[:, i] * v[:, j])
            inter_names.append(f"{group}{level_g}:{visit}{level_v}")
    interactions = np.column_stack(inter) if inter else np.empty((len(frame), 0))
    columns = [np.ones(len(frame)), g, v, coded.matrix, interactions]
    X = np.column_stack(columns)
    return _Design(X, names + inter_names, groups, visits, coded.grid)


def _grid_row(design: _Design, group_index: int, visit_index: int) -> FloatArray:
    """Design row of one arm at one visit with covariates at emmeans' reference grid."""
    ng, nv = len(design.groups) - 1, len(design.visits) - 1
    g = np.zeros(ng)
    v = np.zeros(nv)
    if group_index > 0:
        g[group_index - 1] = 1.0
    if visit_index > 0:
        v[visit_index - 1] = 1.0
    return np.concatenate([[1.0], g, v, design.grid, np.outer(v, g).ravel()])


def _check_duplicates(frame: pd.DataFrame, subject: str, visit: str) -> None:
    duplicated = frame.duplicated([subject, visit], keep=False)
    if duplicated.any():
        ids = pd.unique(frame.loc[duplicated, subject])[:5].tolist()
        raise ValueError(
            f"each {subject} may have one row per {visit}; subjects with repeated visits: {ids}"
        )


def _inference(estimate: float, se: float, df: float, conf_level: float) -> list[float]:
    statistic = estimate / se
    half = float(sps.t.ppf(0.5 + conf_level / 2.0, df)) * se
    p_value = float(2.0 * sps.t.sf(abs(statistic), df))
    return [estimate, se, df, statistic, p_value, estimate - half, estimate + half]


def _visit_counts(used: pd.DataFrame, group: str, visit: str, visits: list[Any]) -> str:
    counts = used.groupby([visit, group], observed=True).size()
    parts = []
    for level in visits:
        by_arm = counts.xs(level, level=0)
        arms = ", ".join(f"{arm} {n}" for arm, n in by_arm.items())
        parts.append(f"{level}: {int(by_arm.sum())} ({arms})")
    return "; ".join(parts)


def _show(level: Any) -> str:
    return repr(level.item() if isinstance(level, np.generic) else level)


def _check_supported(
    design: _Design, visit_codes: Any, subject_codes: Any, covariance: Covariance
) -> str | None:
    """Why the data cannot support the covariance, or None.

    A visit whose observations are all taken by its own mean parameters (rank(X) minus the
    rank of X without that visit's rows) leaves a zero residual there: the REML likelihood is
    unbounded as that visit's conditional variance goes to 0. An unstructured covariance
    also needs every pair of visits observed together in some subject.
    """
    rank = np.linalg.matrix_rank(design.X)
    for t, level in enumerate(design.visits):
        at_visit = visit_codes == t
        own = rank - np.linalg.matrix_rank(design.X[~at_visit]) if (~at_visit).any() else rank
        if at_visit.sum() <= own:
            return (
                f"visit {_show(level)} has {int(at_visit.sum())} observations and its own "
                f"{own} mean parameters take all of them (it needs at least {own + 1})"
            )
    if covariance != "unstructured":
        return None
    seen = np.zeros((subject_codes.max() + 1, len(design.visits)), dtype=bool)
    seen[subject_codes, visit_codes] = True
    together = seen.T.astype(int) @ seen.astype(int)
    never = np.argwhere(together == 0)
    if len(never):
        s, t = never[0]
        return (
            f"no subject was observed at both visit {_show(design.visits[s])} and visit "
            f"{_show(design.visits[t])}, so their covariance is not identified"
        )
    return None


def _fit(
    patterns: list[Pattern], design: _Design, covariance: Covariance, counts: str, why: str | None
) -> RemlFit:
    advice = (
        "use a structured covariance (covariance='heterogeneous-ar1', 'ar1' or "
        "'compound-symmetry'), or pool or drop the sparse visits"
    )
    if why is not None:
        raise ConvergenceError(
            f"the data cannot support an {covariance} covariance: {why}. "
            f"Observations per visit: {counts}. Fix: {advice}"
        )
    try:
        return fit_reml(patterns, len(design.visits), structure=covariance)
    except ConvergenceError as exc:
        raise ConvergenceError(f"{exc}. Observations per visit: {counts}. Fix: {advice}") from exc


def _tables(fit: Any, patterns: Any, design: _Design, reference: Any, level: float) -> Any:
    T = len(design.visits)
    rows, diffs = [], []
    ref_index = design.groups.index(reference)
    for t, visit_level in enumerate(design.visits):
        grid = [_grid_row(design, k, t) for k in range(len(design.groups))]
        for k, group_level in enumerate(design.groups):
            c = grid[k]
            se = float(np.sqrt(c @ fit.phi @ c))
            df = satterthwaite_df(fit, patterns, T, c)
            values = _inference(float(c @ fit.beta), se, df, level)
            rows.append([group_level, visit_level, *values[:3], *values[5:]])
            if k == ref_index:
                continue
            d = grid[k] - grid[ref_index]
            se_d = float(np.sqrt(d @ fit.phi @ d))
            df_d = satterthwaite_df(fit, patterns, T, d)
            contrast = f"{group_level} - {reference}"
            diffs.append(
                [visit_level, contrast, *_inference(float(d @ fit.beta), se_d, df_d, level)]
            )
    lsmeans = pd.DataFrame(
        rows, columns=["group", "visit", "estimate", "se", "df", "ci_low", "ci_high"]
    )
    return lsmeans, pd.DataFrame(diffs, columns=list(_DIFFERENCE_COLUMNS))


def mmrm(
    data: DataLike,
    *,
    outcome: str,
    group: str,
    visit: str,
    subject: str,
    covariates: Sequence[str] | str = (),
    covariance: Covariance = "unstructured",
    reference: Any | None = None,
    conf_level: float = 0.95,
) -> MmrmResult:
    r"""Mixed model for repeated measures by REML (unstructured covariance by default).

    Fits ``outcome ~ group * visit + covariates`` with an unstructured covariance of the
    repeated measurements within ``subject`` (one variance per visit, one covariance per pair
    of visits), the model of R's ``nlme::gls(outcome ~ group * visit + covariates,
    correlation = corSymm(form = ~ visit_index | subject), weights = varIdent(form = ~ 1 |
    visit), method = "REML")`` and of ``mmrm::mmrm(... + us(visit | subject))``
    (Mallinckrodt et al., Drug Inf J 2008;42:303-19). LS means evaluate each arm at each visit
    with numeric covariates at their mean over the analysed rows and factor covariates
    equally weighted (``emmeans``). Standard errors are model based,
    :math:`\sqrt{c^\top (X^\top \hat V^{-1} X)^{-1} c}`; degrees of freedom are Satterthwaite's
    from the inverse Hessian of the REML log-likelihood (as ``mmrm``).

    Parameters
    ----------
    data
        Long-format DataFrame: one row per subject and visit.
    outcome, group, visit, subject
        Column names. Visits are ordered by sorting, or by the categories of an ordered
        pandas ``Categorical`` (use one for labels such as "day 90", "day 180").
    covariates
        Extra fixed effects (e.g. the baseline value); factors for non-numeric columns.
    covariance
        ``"unstructured"`` (default; one variance per visit and one covariance per pair),
        ``"compound-symmetry"`` (``corCompSymm``), ``"ar1"`` (``corAR1`` on the visit
        position) or ``"heterogeneous-ar1"`` (``corAR1`` with ``varIdent(~ 1 | visit)``).
        The structured choices suit data too sparse at late visits for an unstructured
        covariance.
    reference
        Reference arm (default: first sorted level); differences are other minus reference.
    conf_level
        Confidence level of the intervals.

    Returns
    -------
    MmrmResult

    Raises
    ------
    ConvergenceError
        When a visit has no more observations than its own mean parameters, when (for
        ``"unstructured"``) two visits are never observed in the same subject, or when no
        optimizer in the fallback chain reaches a REML maximum; the message gives the
        observations per visit and arm.
    """
    if covariance not in STRUCTURES:
        raise ValueError(
            f"covariance={covariance!r} is not available; choose one of "
            + ", ".join(repr(s) for s in STRUCTURES)
        )
    names = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    level = check_conf_level(conf_level)
    columns = [outcome, group, visit, subject, *names]
    frame = as_frame(data, columns)
    used, exclusions = complete_cases(frame, columns)
    _check_duplicates(used, subject, visit)
    ref, _ = group_levels(used[group], group, reference)
    design = _design(used, group, visit, names)
    visit_codes = used[visit].map({v: i for i, v in enumerate(design.visits)}).to_numpy(np.int64)
    subject_codes = pd.factorize(used[subject])[0].astype(np.int64)
    y = used[outcome].to_numpy(dtype=np.float64)
    if np.linalg.matrix_rank(design.X) < design.X.shape[1]:
        raise NotEstimableError(
            "the fixed effects are not estimable: some arm has no observation at some visit, "
            "or a covariate is constant or collinear"
        )
    patterns = build_patterns(design.X, y, subject_codes, visit_codes)
    why = _check_supported(design, visit_codes, subject_codes, covariance)
    counts = _visit_counts(used, group, visit, design.visits)
    fit = _fit(patterns, design, covariance, counts, why)
    lsmeans, differences = _tables(fit, patterns, design, ref, level)
    coefficients = pd.DataFrame(
        {"term": design.names, "estimate": fit.beta, "se": np.sqrt(np.diag(fit.phi))}
    )
    return MmrmResult(
        outcome=outcome,
        group=group,
        visit=visit,
        reference=ref,
        visits=tuple(design.visits),
        covariance_structure=covariance,
        lsmeans=lsmeans,
        differences=differences,
        coefficients=coefficients,
        covariance=pd.DataFrame(fit.sigma, index=design.visits, columns=design.visits),
        loglik=fit.loglik,
        conf_level=level,
        n_subjects=int(subject_codes.max() + 1) if len(used) else 0,
        n_observations=len(used),
        n_excluded=len(frame) - len(used),
        exclusions=exclusions,
        version=package_version(),
    )
