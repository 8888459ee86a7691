"""Group-sequential boundaries by Lan-DeMets alpha spending, with beta-spending futility.

Efficacy critical values z_k solve, look by look,
``P_0(continue to k−1, Z_k ≥ z_k) = α*(t_k) − α*(t_{k−1})`` (Lan & DeMets 1983, Biometrika
70:659) by recursive numerical integration (:mod:`hepatrial.design._integration`). Spending
functions of the one-sided level α (rpact ``typeOfDesign="asOF"`` and ``"asP"``)::

    O'Brien-Fleming type  α*(t) = 2 − 2 Φ(z_{1−α/2} / √t)
    Pocock type           α*(t) = α · log(1 + (e − 1) t)

Futility bounds f_k spend β the same way under the alternative with drift θ (Z_k ~ N(θ√t_k, 1)):
``P_θ(continue to k−1, Z_k < f_k) = β*(t_k) − β*(t_{k−1})``, and θ is found so that the last
futility bound meets the last efficacy bound (Pampallona, Tsiatis & Kim 2001; rpact
``typeBetaSpending="bsOF"|"bsP"``). With non-binding futility (the default) the efficacy bounds
ignore the futility bounds; with ``binding=True`` they account for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from hepatrial.design import _integration as gs
from hepatrial.design._common import check_probability, one_sided_alpha, z_upper
from hepatrial.stats.engine import FloatArray, RenderedResult

Spending = Literal["obf", "pocock"]
Futility = Literal["none", "obf", "pocock"]
_NONE = -math.inf


def spending_function(level: float, t: FloatArray, kind: str) -> FloatArray:
    """Cumulative error spent at information fractions ``t`` for spending ``kind``."""
    if kind == "obf":
        return np.asarray(2.0 - 2.0 * stats.norm.cdf(z_upper(level / 2.0) / np.sqrt(t)))
    if kind == "pocock":
        return np.asarray(level * np.log1p((math.e - 1.0) * t))
    raise ValueError(f"spending={kind!r} must be 'obf' (O'Brien-Fleming type) or 'pocock'")


def _information(k: int, information: Sequence[float] | None) -> FloatArray:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 20:
        raise ValueError(f"k={k!r} must be an integer number of looks between 1 and 20")
    if information is None:
        return np.arange(1, k + 1, dtype=np.float64) / k
    t = np.asarray(information, dtype=np.float64)
    if t.shape != (k,) or not np.all(np.diff(t) > 0) or t[0] <= 0 or abs(t[-1] - 1.0) > 1e-12:
        raise ValueError(
            f"information={list(information)!r} must hold k={k} strictly increasing information "
            "fractions in (0, 1] ending at 1, e.g. [0.3, 0.6, 1.0]"
        )
    return t


def _root(func: Callable[[float], float], low: float = -12.0, high: float = 12.0) -> float:
    """Root of an increasing function, clamped to the bracket if there is none inside it."""
    f_low, f_high = func(low), func(high)
    if f_low >= 0.0:
        return low
    if f_high <= 0.0:
        return high
    return float(optimize.brentq(func, low, high, xtol=1e-12, rtol=1e-15, maxiter=200))


def _efficacy_bound(previous: gs.Continuation | None, t: float, increment: float) -> float:
    return _root(lambda b: increment - gs.exit_above(previous, t, 0.0, b))


def _futility_bound(
    previous: gs.Continuation | None, t: float, drift: float, increment: float
) -> float:
    return _root(lambda f: gs.exit_below(previous, t, drift, f) - increment)


def _efficacy_only(t: FloatArray, alpha_cum: FloatArray, lower: FloatArray) -> FloatArray:
    bounds = np.empty(t.size)
    previous: gs.Continuation | None = None
    spent = 0.0
    for k in range(t.size):
        bounds[k] = _efficacy_bound(previous, float(t[k]), float(alpha_cum[k] - spent))
        spent = float(alpha_cum[k])
        previous = gs.next_look(previous, float(t[k]), 0.0, float(lower[k]), float(bounds[k]))
    return bounds


def _sequential_bounds(
    t: FloatArray,
    alpha_cum: FloatArray,
    beta_cum: FloatArray,
    drift: float,
    fixed_efficacy: FloatArray | None,
) -> tuple[FloatArray, FloatArray]:
    """Efficacy (from ``fixed_efficacy`` or binding) and futility bounds for one drift."""
    efficacy = np.empty(t.size)
    futility = np.empty(t.size)
    h0: gs.Continuation | None = None
    h1: gs.Continuation | None = None
    for k in range(t.size):
        tk = float(t[k])
        if fixed_efficacy is None:
            spent = float(alpha_cum[k - 1]) if k else 0.0
            efficacy[k] = _efficacy_bound(h0, tk, float(alpha_cum[k]) - spent)
        else:
            efficacy[k] = fixed_efficacy[k]
        beta_spent = float(beta_cum[k - 1]) if k else 0.0
        futility[k] = _futility_bound(h1, tk, drift, float(beta_cum[k]) - beta_spent)
        upper = float(efficacy[k])
        lower = min(float(futility[k]), upper)
        if fixed_efficacy is None:
            h0 = gs.next_look(h0, tk, 0.0, lower, upper)
        h1 = gs.next_look(h1, tk, drift, lower, upper)
    return efficacy, futility


def exit_probabilities(
    t: FloatArray, lower: FloatArray, upper: FloatArray, drift: float
) -> tuple[FloatArray, FloatArray]:
    """Per-look probabilities of crossing the upper and the lower bound under ``drift``."""
    above = np.empty(t.size)
    below = np.empty(t.size)
    previous: gs.Continuation | None = None
    for k in range(t.size):
        tk = float(t[k])
        above[k] = gs.exit_above(previous, tk, drift, float(upper[k]))
        low = min(float(lower[k]), float(upper[k]))
        below[k] = gs.exit_below(previous, tk, drift, low) if low > -math.inf else 0.0
        previous = gs.next_look(previous, tk, drift, low, float(upper[k]))
    return above, below


@dataclass(frozen=True)
class GsBoundaries(RenderedResult):
    """Group-sequential boundaries and, when ``beta`` is given, design characteristics.

    Attributes
    ----------
    z : tuple of float
        One-sided efficacy critical values per look (reject H0 when Z_k ≥ z_k).
    futility : tuple of float or None
        Futility bounds at the interim looks (stop for futility when Z_k < f_k); the bound at
        the final look equals ``z[-1]``.
    information : tuple of float
        Information fractions t_k.
    alpha_spent : tuple of float
        Cumulative one-sided alpha spent by the spending function at each look.
    nominal_p : tuple of float
        One-sided nominal p-value thresholds 1 − Φ(z_k).
    drift : float or None
        θ such that Z_K ~ N(θ, 1) gives power 1 − β (rpact's ``shift`` is θ²).
    inflation_factor : float or None
        Maximum information relative to the fixed design, (θ / (z_{1−α} + z_{1−β}))².
    reject_h1, stop_futility_h1 : tuple of float or None
        Per-look probabilities of stopping for efficacy / futility under the alternative.
    expected_information_h0, expected_information_h1 : float or None
        Expected information relative to the fixed design under H0 and under H1.
    """

    k: int
    information: tuple[float, ...]
    z: tuple[float, ...]
    futility: tuple[float, ...] | None
    alpha_spent: tuple[float, ...]
    nominal_p: tuple[float, ...]
    alpha: float
    sided: int
    spending: str
    futility_spending: str
    binding: bool
    beta: float | None
    drift: float | None
    inflation_factor: float | None
    power: float | None
    reject_h1: tuple[float, ...] | None
    stop_futility_h1: tuple[float, ...] | None
    expected_information_h0: float | None
    expected_information_h1: float | None

    @property
    def summary(self) -> pd.DataFrame:
        """One row per look: information, efficacy z, futility z, alpha spent, nominal p."""
        futility = list(self.futility) + [self.z[-1]] if self.futility else [math.nan] * self.k
        frame = pd.DataFrame(
            {
                "look": np.arange(1, self.k + 1),
                "information": self.information,
                "z_efficacy": self.z,
                "z_futility": futility,
                "alpha_spent": self.alpha_spent,
                "nominal_p": self.nominal_p,
            }
        )
        if self.reject_h1 is not None and self.stop_futility_h1 is not None:
            frame["reject_h1"] = self.reject_h1
            frame["stop_futility_h1"] = self.stop_futility_h1
        return frame

    def max_sample_size(self, n_fixed: float) -> float:
        """Maximum sample size (or events) of this design for a fixed-design size ``n_fixed``."""
        if self.inflation_factor is None:
            raise ValueError("the inflation factor needs beta=; call gs_boundaries(..., beta=0.2)")
        return float(n_fixed) * self.inflation_factor

    def __repr__(self) -> str:
        zs = ", ".join(f"{z:.4f}" for z in self.z)
        return (
            f"GsBoundaries({self.spending}, k={self.k}, alpha={self.alpha}/{self.sided}: z=[{zs}])"
        )


def _drift_efficacy_only(t: FloatArray, efficacy: FloatArray, beta: float) -> float:
    lower = np.full(t.size, _NONE)
    return _root(
        lambda d: float(exit_probabilities(t, lower, efficacy, d)[0].sum()) - (1.0 - beta),
        -2.0,
        15.0,
    )


def _with_futility(
    t: FloatArray, alpha_cum: FloatArray, beta: float, futility: str, binding: bool
) -> tuple[FloatArray, FloatArray, float]:
    beta_cum = spending_function(beta, t, futility)
    fixed = None if binding else _efficacy_only(t, alpha_cum, np.full(t.size, _NONE))

    def gap(drift: float) -> float:
        efficacy, fut = _sequential_bounds(t, alpha_cum, beta_cum, drift, fixed)
        return float(fut[-1] - efficacy[-1])

    drift = _root(gap, -4.0, 15.0)
    efficacy, fut = _sequential_bounds(t, alpha_cum, beta_cum, drift, fixed)
    return efficacy, fut, drift


def gs_boundaries(
    *,
    k: int,
    alpha: float = 0.05,
    spending: Spending = "obf",
    information: Sequence[float] | None = None,
    beta: float | None = None,
    futility: Futility = "none",
    binding: bool = False,
    sided: int = 2,
) -> GsBoundaries:
    """Lan-DeMets alpha-spending boundaries, optionally with beta-spending futility.

    Parameters
    ----------
    k : int
        Number of looks, including the final analysis.
    alpha : float
        Significance level, two-sided unless ``sided=1``; the efficacy boundaries are one-sided
        at ``alpha / sided`` (so ``alpha=0.05`` gives the usual one-sided 0.025 boundaries).
    spending : {"obf", "pocock"}
        O'Brien-Fleming-type or Pocock-type alpha spending.
    information : sequence of float, optional
        Information fractions of the looks (increasing, ending at 1); equal spacing if omitted.
    beta : float, optional
        Type II error 1 − power; gives the drift, inflation factor and stopping probabilities.
    futility : {"none", "obf", "pocock"}
        Beta-spending function for futility bounds (needs ``beta``).
    binding : bool
        Whether the futility bounds are binding (efficacy bounds then account for them).
    sided : {1, 2}
        Whether ``alpha`` is one- or two-sided.

    Examples
    --------
    >>> [round(z, 4) for z in gs_boundaries(k=2, alpha=0.025, sided=1).z]
    [2.9626, 1.9686]
    """
    t = _information(k, information)
    alpha1 = one_sided_alpha(alpha, sided)
    alpha_cum = spending_function(alpha1, t, spending)
    if futility != "none" and beta is None:
        raise ValueError(f"futility={futility!r} spends beta; give beta= (e.g. beta=0.2)")
    if beta is not None:
        beta = check_probability("beta", beta)
    fut: FloatArray | None = None
    drift: float | None = None
    if futility == "none":
        efficacy = _efficacy_only(t, alpha_cum, np.full(t.size, _NONE))
        if beta is not None:
            drift = _drift_efficacy_only(t, efficacy, beta)
    else:
        spending_function(0.1, t, futility)  # validates the name before the long search
        efficacy, fut, drift = _with_futility(t, alpha_cum, float(beta or 0.0), futility, binding)
    return _result(
        t, efficacy, fut, alpha_cum, alpha, sided, spending, futility, binding, beta, drift
    )


def _result(
    t: FloatArray,
    efficacy: FloatArray,
    fut: FloatArray | None,
    alpha_cum: FloatArray,
    alpha: float,
    sided: int,
    spending: str,
    futility: str,
    binding: bool,
    beta: float | None,
    drift: float | None,
) -> GsBoundaries:
    lower = np.full(t.size, _NONE) if fut is None else fut
    chars: dict[str, object] = {
        "inflation_factor": None,
        "power": None,
        "reject_h1": None,
        "stop_futility_h1": None,
        "expected_information_h0": None,
        "expected_information_h1": None,
    }
    if drift is not None and beta is not None:
        inflation = (drift / (z_upper(alpha / sided) + z_upper(beta))) ** 2
        above, below = exit_probabilities(t, lower, efficacy, drift)
        chars.update(
            inflation_factor=inflation,
            power=float(above.sum()),
            reject_h1=tuple(float(p) for p in above),
            stop_futility_h1=tuple(float(p) for p in below[:-1]) + (0.0,),
            expected_information_h1=inflation * _expected_fraction(t, above, below),
            expected_information_h0=inflation
            * _expected_fraction(t, *exit_probabilities(t, lower, efficacy, 0.0)),
        )
    return GsBoundaries(
        k=t.size,
        information=tuple(float(x) for x in t),
        z=tuple(float(z) for z in efficacy),
        futility=None if fut is None else tuple(float(f) for f in fut[:-1]),
        alpha_spent=tuple(float(a) for a in alpha_cum),
        nominal_p=tuple(float(p) for p in stats.norm.sf(efficacy)),
        alpha=float(alpha),
        sided=sided,
        spending=spending,
        futility_spending=futility,
        binding=binding,
        beta=beta,
        drift=drift,
        **chars,  # type: ignore[arg-type]
    )


def _expected_fraction(t: FloatArray, above: FloatArray, below: FloatArray) -> float:
    stop = above[:-1] + below[:-1]
    return float(np.sum(stop * t[:-1]) + (1.0 - stop.sum()) * t[-1])
