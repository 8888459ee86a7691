"""Concealed allocators: each assignment is a pure function of (seed, history, factor levels).

Public API
----------
``Allocator.from_protocol(protocol) -> Allocator`` builds the allocator the protocol names.

``allocator.assign(*, seed: bytes, history: Sequence[PriorAssignment], factors: Mapping[str, str])
-> Assignment`` returns the next allocation. ``history`` is every earlier allocation of the trial in
sequence order (1, 2, ..., n); the new one gets sequence number n + 1.

``allocator.replay(*, seed: bytes, history: Sequence[PriorAssignment]) -> ReplayReport`` recomputes
every recorded allocation from the seed and names the first that differs.

The random element of every method is an HMAC-SHA256 draw keyed by the sealed seed (see
:mod:`._draws`): simple randomization and minimisation draw one uniform per sequence number;
permuted blocks draw, per stratum and block index, the block size and the order within the block.
Nothing else is random, so the same seed and history always give the same allocation, and without
the seed the next allocation of a block or of the random element cannot be computed.

The store calls :meth:`Allocator.assign` inside a locked transaction, so history and assignment are
consistent; the allocator itself holds no state.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping, Sequence
from operator import attrgetter, itemgetter, methodcaller

import numpy as np

from hepatrial.allocation import core
from hepatrial.allocation._draws import check_seed, uniform, uniforms
from hepatrial.allocation.results import Assignment, PriorAssignment, ReplayReport
from hepatrial.exceptions import AllocationError
from hepatrial.protocol.models import Factor, Protocol


class Allocator(ABC):
    """Base class: arms, ratio and factors, history checks, and replay."""

    method: str = ""

    def __init__(self, arms: Sequence[str], ratio: Sequence[int], factors: Sequence[Factor] = ()):
        if len(arms) != len(ratio) or len(set(arms)) != len(arms):
            raise AllocationError(
                f"need one ratio per distinct arm; got arms {list(arms)}, ratio {list(ratio)}"
            )
        self.arms: tuple[str, ...] = tuple(arms)
        self.ratio: tuple[int, ...] = core.check_ratio(ratio)
        self.factors: tuple[Factor, ...] = tuple(factors)
        self._names = frozenset(f.name for f in self.factors)
        self._arm_set = frozenset(self.arms)

    @staticmethod
    def from_protocol(protocol: Protocol) -> Allocator:
        """The allocator described by ``protocol.allocation``."""
        spec = protocol.allocation
        arms, ratio = protocol.arm_ids, protocol.ratio
        if spec.method == "simple":
            return SimpleAllocator(arms, ratio)
        if spec.method == "permuted_blocks":
            return PermutedBlockAllocator(arms, ratio, spec.block_sizes or (), spec.factors)
        return MinimisationAllocator(
            arms,
            ratio,
            spec.factors,
            p_best=spec.p_best or 1.0,
            imbalance=spec.imbalance or "range",
        )

    def assign(
        self, *, seed: bytes, history: Sequence[PriorAssignment], factors: Mapping[str, str]
    ) -> Assignment:
        """The next allocation; see the module docstring."""
        seed = check_seed(seed)
        self._check_history(history)
        levels = self._check_factors(factors, f"participant #{len(history) + 1}")
        return self._assign(seed, history, levels)

    def replay(self, *, seed: bytes, history: Sequence[PriorAssignment]) -> ReplayReport:
        """Recompute every allocation of ``history`` from ``seed``; report the first mismatch.

        The recorded factor levels are taken as given: replay proves that each recorded arm is
        what the seed assigns to that history, while changes to the recorded levels themselves
        are for the store's hash-chained audit trail to reveal.
        """
        seed = check_seed(seed)
        self._check_history(history)
        done: list[Assignment] = []
        for index, prior in enumerate(history):
            expected = self._assign(seed, history[:index], dict(prior.factors))
            done.append(expected)
            if expected.arm != prior.arm:
                return ReplayReport(
                    len(done), prior.sequence_number, prior.arm, expected.arm, tuple(done)
                )
        return ReplayReport(len(done), None, None, None, tuple(done))

    @abstractmethod
    def _assign(
        self, seed: bytes, history: Sequence[PriorAssignment], factors: dict[str, str]
    ) -> Assignment: ...

    def _check_history(self, history: Sequence[PriorAssignment]) -> None:
        """Check every prior entry; raise for the first bad one.

        The whole-column checks below cost a few C-level passes plus one level check per
        distinct combination of factor levels; only when one of them fails is the history
        walked entry by entry, so the error names the first bad entry.
        """
        if not self._history_is_valid(history):
            self._first_history_problem(history)

    def _history_is_valid(self, history: Sequence[PriorAssignment]) -> bool:
        """True when every entry is in sequence, names a known arm and has valid levels."""
        try:
            numbers = list(map(attrgetter("sequence_number"), history))
            if numbers != list(range(1, len(history) + 1)):
                return False
            if not set(map(attrgetter("arm"), history)) <= self._arm_set:
                return False
            combos = set(map(tuple, map(methodcaller("items"), map(_factors_of, history))))
        except TypeError:  # an unhashable arm or level: let the entry-by-entry walk name it
            return False
        return all(self._valid_levels(dict(combo)) for combo in combos)

    def _first_history_problem(self, history: Sequence[PriorAssignment]) -> None:
        for position, prior in enumerate(history, start=1):
            if prior.sequence_number != position:
                raise AllocationError(
                    f"history must list sequence numbers 1, 2, ... in order; position {position} "
                    f"holds #{prior.sequence_number}"
                )
            if prior.arm not in self._arm_set:
                raise AllocationError(
                    f"history #{position} names arm {prior.arm!r}; arms: {', '.join(self.arms)}"
                )
            if not self._valid_levels(prior.factors):
                self._check_factors(prior.factors, f"history #{position}")

    def _valid_levels(self, factors: Mapping[str, str]) -> bool:
        """Fast path of :meth:`_check_factors` for long histories: True when all is well."""
        return factors.keys() == self._names and all(
            _level_problem(f, factors[f.name]) is None for f in self.factors
        )

    def _check_factors(self, factors: Mapping[str, str], who: str) -> dict[str, str]:
        expected = [f.name for f in self.factors]
        if sorted(factors) != sorted(expected):
            raise AllocationError(
                f"{who}: factors must be exactly {expected or '{}'}; got {sorted(factors)}"
            )
        for factor in self.factors:
            problem = _level_problem(factor, factors[factor.name])
            if problem is not None:
                raise AllocationError(f"{who}: {problem}")
        return {name: factors[name] for name in expected}

    def _probabilities(self, values: np.ndarray) -> dict[str, float]:
        return {arm: float(p) for arm, p in zip(self.arms, values, strict=True)}


_factors_of = attrgetter("factors")


def _level_problem(factor: Factor, level: object) -> str | None:
    """Why ``level`` is not acceptable for ``factor``, or None.

    ``|`` and ``=`` are refused because they build stratum labels: a site called
    ``"a|sex=f"`` could otherwise share a stratum label with another combination of levels.
    """
    if not isinstance(level, str) or not level.strip():
        return f"factor {factor.name!r} level must be non-empty text; got {level!r}"
    if "|" in level or "=" in level:
        return f"factor {factor.name}={level!r}: levels may not contain '|' or '='"
    if factor.levels is not None and level not in factor.levels:
        return f"factor {factor.name}={level!r} is not a level; levels: {', '.join(factor.levels)}"
    return None


class SimpleAllocator(Allocator):
    """Simple (unrestricted) randomization with probabilities proportional to the ratio."""

    method = "simple"

    def _assign(
        self, seed: bytes, history: Sequence[PriorAssignment], factors: dict[str, str]
    ) -> Assignment:
        number = len(history) + 1
        probabilities = core.ratio_probabilities(self.ratio)
        u = np.asarray(uniform(seed, f"simple|{number}"))
        arm = int(core.arm_from_uniform(u, probabilities))
        return Assignment(
            number, self.arms[arm], self.method, factors, self._probabilities(probabilities)
        )


def stratum_label(factors: Mapping[str, str], order: Sequence[str]) -> str:
    """Stratum label from factor levels, in protocol order: ``"site=a|aetiology=alcohol"``."""
    return "|".join(f"{name}={factors[name]}" for name in order) or "all"


class PermutedBlockAllocator(Allocator):
    """Permuted blocks with sizes drawn at random from ``block_sizes``, within each stratum.

    Stratum ``s``'s k-th block (k = 1, 2, ...) has size ``block_sizes[floor(u * len)]`` with
    ``u = HMAC(seed, "block-size|s|k")`` and arm order ``argsort(HMAC-keyed uniforms
    "block|s|k")`` applied to the ratio-balanced multiset of arms. The n-th participant of the
    stratum takes the next free position. Strata never share blocks.
    """

    method = "permuted_blocks"

    def __init__(
        self,
        arms: Sequence[str],
        ratio: Sequence[int],
        block_sizes: Sequence[int],
        factors: Sequence[Factor] = (),
    ):
        super().__init__(arms, ratio, factors)
        self.block_sizes: tuple[int, ...] = core.check_block_sizes(block_sizes, self.ratio)

    def _assign(
        self, seed: bytes, history: Sequence[PriorAssignment], factors: dict[str, str]
    ) -> Assignment:
        order = [f.name for f in self.factors]
        stratum = stratum_label(factors, order)
        if order:
            levels_of = itemgetter(*order)
            mine = levels_of(factors)
            position = list(map(levels_of, map(_factors_of, history))).count(mine)
        else:
            position = len(history)
        block, start, size = self._locate(seed, stratum, position)
        keys = uniforms(seed, f"block|{stratum}|{block}", max(self.block_sizes))
        arms = core.block_arms_from_keys(keys[None, :], np.asarray([size]), self.ratio)[0]
        remaining = arms[position - start : size]
        counts = np.bincount(remaining, minlength=len(self.arms)).astype(np.float64)
        return Assignment(
            sequence_number=len(history) + 1,
            arm=self.arms[int(arms[position - start])],
            method=self.method,
            factors=factors,
            probabilities=self._probabilities(counts / counts.sum()),
            stratum=stratum,
            stratum_sequence=position + 1,
            block_number=block,
            block_position=position - start + 1,
            block_size=size,
        )

    def _locate(self, seed: bytes, stratum: str, position: int) -> tuple[int, int, int]:
        """(block number, first position, size) of the block holding 0-based ``position``.

        Enough block sizes are drawn at once to cover ``position`` even if every block were of
        the smallest size.
        """
        n_blocks = position // min(self.block_sizes) + 1
        draws = [uniform(seed, f"block-size|{stratum}|{k}") for k in range(1, n_blocks + 1)]
        sizes = core.block_size_from_uniform(np.asarray(draws), self.block_sizes)
        ends = np.cumsum(sizes)
        index = int(np.searchsorted(ends, position, side="right"))
        return index + 1, int(ends[index] - sizes[index]), int(sizes[index])


class MinimisationAllocator(Allocator):
    """Pocock-Simon minimisation with a random element.

    For each arm ``a`` the weighted imbalance ``G(a)`` is computed as if the participant joined
    ``a`` (:func:`core.minimisation_scores`); the arms with the smallest ``G`` share probability
    ``p_best`` (ratio-weighted), the rest share ``1 - p_best``, and one HMAC uniform keyed by the
    sequence number picks the arm. Reference: Pocock SJ, Simon R. Biometrics 1975;31:103-115.
    """

    method = "minimisation"

    def __init__(
        self,
        arms: Sequence[str],
        ratio: Sequence[int],
        factors: Sequence[Factor],
        *,
        p_best: float,
        imbalance: core.Imbalance = "range",
    ):
        super().__init__(arms, ratio, factors)
        if not self.factors:
            raise AllocationError("minimisation needs at least one factor")
        if not 0.0 < p_best <= 1.0:
            raise AllocationError(f"p_best must be in (0, 1]; got {p_best}")
        if imbalance not in ("range", "variance"):
            raise AllocationError(f"imbalance must be 'range' or 'variance'; got {imbalance!r}")
        self.p_best = float(p_best)
        self.imbalance: core.Imbalance = imbalance
        self.weights = np.asarray([f.weight for f in self.factors], dtype=np.float64)

    def _assign(
        self, seed: bytes, history: Sequence[PriorAssignment], factors: dict[str, str]
    ) -> Assignment:
        arms = list(map(attrgetter("arm"), history))
        levels = list(map(_factors_of, history))
        tallies = []
        for factor in self.factors:
            pairs = Counter(zip(arms, map(itemgetter(factor.name), levels), strict=True))
            tallies.append([pairs[arm, factors[factor.name]] for arm in self.arms])
        counts = np.asarray(tallies, dtype=np.int64).reshape(len(self.factors), len(self.arms))
        scores = core.minimisation_scores(counts, self.ratio, self.weights, self.imbalance)
        probabilities = core.minimisation_probabilities(scores, self.ratio, self.p_best)
        number = len(history) + 1
        u = np.asarray(uniform(seed, f"minimisation|{number}"))
        arm = int(core.arm_from_uniform(u, probabilities))
        return Assignment(
            sequence_number=number,
            arm=self.arms[arm],
            method=self.method,
            factors=factors,
            probabilities=self._probabilities(probabilities),
            imbalance={a: float(s) for a, s in zip(self.arms, scores, strict=True)},
        )
