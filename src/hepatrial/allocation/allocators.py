"""Concealed allocators: each assignment is a pure function of (seed, history, factor levels).

Public API
----------
``Allocator.from_protocol(protocol) -> Allocator`` builds the allocator the protocol names.

``allocator.assign(*, seed: bytes, history: Sequence[PriorAssignment], factors: Mapping[str, str])
-> Assignment`` returns the next allocation. ``history`` is every earlier allocation of the trial in
sequence order (1, 2, ..., n); the new one gets sequence number n + 1.

``allocator.tally(history=()) -> AllocationTally`` summarises a checked history: the number of
entries and the counts the method needs. ``tally.extend(entries)`` checks and adds later entries.
``allocator.assign_next(*, seed, tally, factors) -> Assignment`` is :meth:`~Allocator.assign` for
the history the tally summarises, without walking that history: a long-running service keeps
one tally per trial and extends it with each committed allocation.

``allocator.replay(*, seed: bytes, history: Sequence[PriorAssignment]) -> ReplayReport`` recomputes
every recorded allocation from the seed and names the first that differs.

The random element of every method is an HMAC-SHA256 draw keyed by the sealed seed (see
:mod:`._draws`): simple randomization and minimisation draw one uniform per sequence number;
permuted blocks draw, per stratum and block index, the block size and the order within the block.
Nothing else is random, so the same seed and history always give the same allocation, and without
the seed the next allocation of a block or of the random element cannot be computed.

There is one allocation rule per method, :meth:`Allocator._next`, applied to a tally:
``assign`` builds a tally from the history and calls it, ``replay`` extends one tally entry by
entry. The store allocates inside a locked transaction, so history (or tally) and assignment
are consistent; the allocator itself holds no state, the tally holds the summary.
"""

from __future__ import annotations

import bisect
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from operator import attrgetter, itemgetter, methodcaller

import numpy as np

from hepatrial.allocation import core
from hepatrial.allocation._draws import check_seed, uniform, uniforms
from hepatrial.allocation.results import Assignment, PriorAssignment, ReplayReport
from hepatrial.exceptions import AllocationError
from hepatrial.protocol.models import Factor, Protocol


class AllocationTally:
    """A checked summary of an allocation history, bound to the allocator that made it.

    Made by :meth:`Allocator.tally`; read by :meth:`Allocator.assign_next`. It holds the number
    of entries and the counts its allocator's method needs, never the entries themselves:

    * simple randomization: nothing but :attr:`n`;
    * permuted blocks: the number of participants per stratum, keyed by the tuple of the
      stratum's factor levels in protocol order (``()`` when there are no factors);
    * minimisation: the number of participants per ``(factor, level, arm)``.

    Every entry is checked as :meth:`Allocator.assign` checks a history (sequence numbers
    continue ``n + 1, n + 2, ...``, arms are known, factor levels are valid); the levels are
    checked once per distinct combination.

    Notes
    -----
    Not safe for concurrent :meth:`extend`: the owner extends it under the same lock that
    orders the allocations. A permuted-block tally also memoises the block sizes and arm orders
    it has drawn from the seed (for the seed last used), so it is as confidential as the seed.
    """

    __slots__ = ("_allocator", "_blocks", "_counts", "_n", "_valid")

    def __init__(self, allocator: Allocator, history: Iterable[PriorAssignment] = ()) -> None:
        if not isinstance(allocator, Allocator):
            raise AllocationError(
                f"a tally belongs to an Allocator; got {type(allocator).__name__}"
            )
        self._allocator = allocator
        self._n = 0
        self._counts: Counter[Hashable] = Counter()
        self._valid: set[tuple[tuple[str, str], ...]] = set()
        self._blocks: _BlockMemo | None = None
        self.extend(history)

    @property
    def allocator(self) -> Allocator:
        """The allocator this tally belongs to (the only one that accepts it)."""
        return self._allocator

    @property
    def n(self) -> int:
        """Number of entries summarised; the next allocation has sequence number ``n + 1``."""
        return self._n

    @property
    def counts(self) -> dict[Hashable, int]:
        """A copy of the counts (keys as in the class description; zero counts left out)."""
        return {key: count for key, count in self._counts.items() if count}

    def extend(self, entries: Iterable[PriorAssignment]) -> None:
        """Check ``entries`` (sequence numbers ``n + 1, n + 2, ...``) and add them.

        Raises
        ------
        AllocationError
            For the first bad entry, named by its position in the whole history; the tally is
            then left unchanged.
        """
        batch = tuple(entries)
        if batch:
            self._allocator._check_history(batch, start=self._n, valid=self._valid)
            self._add(batch)

    def _add(self, entries: Sequence[PriorAssignment]) -> None:
        """Count checked ``entries``."""
        self._allocator._count(self._counts, entries)
        self._n += len(entries)

    def __repr__(self) -> str:
        return f"AllocationTally({self._allocator.method}, n={self._n})"


@dataclass
class _BlockMemo:
    """Block boundaries and arm orders of permuted blocks, drawn from one seed.

    Entries are replaced, never changed in place, so that a concurrent reader sees either the
    old or the new value (both correct).
    """

    seed: bytes
    ends: dict[str, tuple[int, ...]] = field(default_factory=dict)
    arms: dict[str, tuple[int, tuple[int, ...]]] = field(default_factory=dict)


class Allocator(ABC):
    """Base class: arms, ratio and factors, history checks, tallies, and replay."""

    method: str = ""

    def __init__(self, arms: Sequence[str], ratio: Sequence[int], factors: Sequence[Factor] = ()):
        if len(arms) != len(ratio) or len(set(arms)) != len(arms):
            raise AllocationError(
                f"need one ratio per distinct arm; got arms {list(arms)}, ratio {list(ratio)}"
            )
        self.arms: tuple[str, ...] = tuple(arms)
        self.ratio: tuple[int, ...] = core.check_ratio(ratio)
        self.factors: tuple[Factor, ...] = tuple(factors)
        self._order: tuple[str, ...] = tuple(f.name for f in self.factors)
        self._names = frozenset(self._order)
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

    def tally(self, history: Iterable[PriorAssignment] = ()) -> AllocationTally:
        """A checked summary of ``history`` (sequence numbers 1, 2, ..., n) for this allocator."""
        return AllocationTally(self, history)

    def assign(
        self, *, seed: bytes, history: Sequence[PriorAssignment], factors: Mapping[str, str]
    ) -> Assignment:
        """The next allocation; see the module docstring."""
        seed = check_seed(seed)
        return self.assign_next(seed=seed, tally=self.tally(history), factors=factors)

    def assign_next(
        self, *, seed: bytes, tally: AllocationTally, factors: Mapping[str, str]
    ) -> Assignment:
        """The allocation :meth:`assign` gives for the history ``tally`` summarises.

        It has sequence number ``tally.n + 1``. The tally is not changed: extend it with the
        allocation once that is committed.
        """
        seed = check_seed(seed)
        self._check_tally(tally)
        levels = self._check_factors(factors, f"participant #{tally.n + 1}")
        return self._next(seed, tally, levels)

    def replay(self, *, seed: bytes, history: Sequence[PriorAssignment]) -> ReplayReport:
        """Recompute every allocation of ``history`` from ``seed``; report the first mismatch.

        The recorded factor levels are taken as given: replay proves that each recorded arm is
        what the seed assigns to that history, while changes to the recorded levels themselves
        are for the store's hash-chained audit trail to reveal.
        """
        seed = check_seed(seed)
        tally = AllocationTally(self)
        self._check_history(history, start=0, valid=tally._valid)
        done: list[Assignment] = []
        for prior in history:
            expected = self._next(seed, tally, dict(prior.factors))
            done.append(expected)
            if expected.arm != prior.arm:
                return ReplayReport(
                    len(done), prior.sequence_number, prior.arm, expected.arm, tuple(done)
                )
            tally._add((prior,))
        return ReplayReport(len(done), None, None, None, tuple(done))

    @abstractmethod
    def _next(self, seed: bytes, tally: AllocationTally, factors: dict[str, str]) -> Assignment:
        """The allocation rule: the next assignment after the history ``tally`` summarises."""

    @abstractmethod
    def _count(self, counts: Counter[Hashable], entries: Sequence[PriorAssignment]) -> None:
        """Add checked ``entries`` to ``counts`` (keys as :class:`AllocationTally` describes)."""

    def _check_tally(self, tally: AllocationTally) -> None:
        if not isinstance(tally, AllocationTally):
            raise AllocationError(
                f"tally must be an AllocationTally made by allocator.tally(); "
                f"got {type(tally).__name__}"
            )
        if tally.allocator is not self:
            other = tally.allocator
            raise AllocationError(
                f"the tally belongs to another allocator ({other.method}, arms "
                f"{', '.join(other.arms)}); this one ({self.method}, arms {', '.join(self.arms)}) "
                "needs its own, made by its tally()"
            )

    def _check_history(
        self,
        history: Sequence[PriorAssignment],
        *,
        start: int = 0,
        valid: set[tuple[tuple[str, str], ...]] | None = None,
    ) -> None:
        """Check the entries at positions ``start + 1, start + 2, ...``; raise for the first bad.

        The whole-column checks below cost a few C-level passes plus one level check per
        distinct combination of factor levels not already in ``valid`` (which gains those that
        pass); only when one of them fails are the entries walked one by one, so the error
        names the first bad entry.
        """
        if not self._history_is_valid(history, start, set() if valid is None else valid):
            self._first_history_problem(history, start)

    def _history_is_valid(
        self,
        history: Sequence[PriorAssignment],
        start: int,
        valid: set[tuple[tuple[str, str], ...]],
    ) -> bool:
        """True when every entry is in sequence, names a known arm and has valid levels."""
        try:
            numbers = list(map(attrgetter("sequence_number"), history))
            if numbers != list(range(start + 1, start + len(history) + 1)):
                return False
            if not set(map(attrgetter("arm"), history)) <= self._arm_set:
                return False
            combos = set(map(tuple, map(methodcaller("items"), map(_factors_of, history))))
        except TypeError:  # an unhashable arm or level: let the entry-by-entry walk name it
            return False
        for combo in combos - valid:
            if not self._valid_levels(dict(combo)):
                return False
            valid.add(combo)
        return True

    def _first_history_problem(self, history: Sequence[PriorAssignment], start: int) -> None:
        for position, prior in enumerate(history, start=start + 1):
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
        expected = list(self._order)
        if sorted(factors) != sorted(expected):
            raise AllocationError(
                f"{who}: factors must be exactly {expected or '{}'}; got {sorted(factors)}"
            )
        for factor in self.factors:
            problem = _level_problem(factor, factors[factor.name])
            if problem is not None:
                raise AllocationError(f"{who}: {problem}")
        return {name: factors[name] for name in expected}

    def _probabilities(self, values: Iterable[float]) -> dict[str, float]:
        return dict(zip(self.arms, values, strict=True))


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

    def __init__(self, arms: Sequence[str], ratio: Sequence[int], factors: Sequence[Factor] = ()):
        super().__init__(arms, ratio, factors)
        self._ratio_probabilities = core.ratio_probabilities(self.ratio)
        self._shares = self._probabilities(self._ratio_probabilities.tolist())

    def _count(self, counts: Counter[Hashable], entries: Sequence[PriorAssignment]) -> None:
        """Nothing to count: simple randomization depends on the history only through ``n``."""

    def _next(self, seed: bytes, tally: AllocationTally, factors: dict[str, str]) -> Assignment:
        number = tally.n + 1
        u = np.asarray(uniform(seed, f"simple|{number}"))
        arm = int(core.arm_from_uniform(u, self._ratio_probabilities))
        return Assignment(number, self.arms[arm], self.method, factors, dict(self._shares))


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

    def _count(self, counts: Counter[Hashable], entries: Sequence[PriorAssignment]) -> None:
        if not self._order:
            counts[()] += len(entries)
            return
        levels = list(map(_factors_of, entries))
        counts.update(zip(*(map(itemgetter(name), levels) for name in self._order), strict=True))

    def _next(self, seed: bytes, tally: AllocationTally, factors: dict[str, str]) -> Assignment:
        stratum = stratum_label(factors, self._order)
        position = tally._counts[tuple(factors[name] for name in self._order)]
        block, start, arms = self._block(self._memo(tally, seed), seed, stratum, position)
        offset, size = position - start, len(arms)
        remaining = arms[offset:]
        return Assignment(
            sequence_number=tally.n + 1,
            arm=self.arms[arms[offset]],
            method=self.method,
            factors=factors,
            probabilities=self._probabilities(
                remaining.count(k) / len(remaining) for k in range(len(self.arms))
            ),
            stratum=stratum,
            stratum_sequence=position + 1,
            block_number=block,
            block_position=offset + 1,
            block_size=size,
        )

    @staticmethod
    def _memo(tally: AllocationTally, seed: bytes) -> _BlockMemo:
        """The tally's block memo for ``seed`` (a new one when the seed differs)."""
        memo = tally._blocks
        if memo is None or memo.seed != seed:
            memo = tally._blocks = _BlockMemo(seed)
        return memo

    def _block(
        self, memo: _BlockMemo, seed: bytes, stratum: str, position: int
    ) -> tuple[int, int, tuple[int, ...]]:
        """(block number, first position, arms) of the block holding 0-based ``position``."""
        block, start, size = self._locate(memo, seed, stratum, position)
        known = memo.arms.get(stratum)
        if known is not None and known[0] == block:
            return block, start, known[1]
        keys = uniforms(seed, f"block|{stratum}|{block}", max(self.block_sizes))
        arms = core.block_arms_from_keys(keys[None, :], np.asarray([size]), self.ratio)[0]
        order = tuple(arms[:size].tolist())
        memo.arms[stratum] = (block, order)
        return block, start, order

    def _locate(
        self, memo: _BlockMemo, seed: bytes, stratum: str, position: int
    ) -> tuple[int, int, int]:
        """(block number, first position, size) of the block holding 0-based ``position``.

        The cumulative block ends drawn so far are kept in ``memo``; when ``position`` lies
        beyond them, enough further block sizes are drawn at once to cover it even if every
        block were of the smallest size.
        """
        ends = memo.ends.get(stratum, ())
        end = ends[-1] if ends else 0
        if end <= position:
            first = len(ends) + 1
            count = (position - end) // min(self.block_sizes) + 1
            draws = [
                uniform(seed, f"block-size|{stratum}|{k}") for k in range(first, first + count)
            ]
            sizes = core.block_size_from_uniform(np.asarray(draws), self.block_sizes).tolist()
            ends = memo.ends[stratum] = ends + tuple(accumulate(sizes, initial=end))[1:]
        index = bisect.bisect_right(ends, position)
        start = ends[index - 1] if index else 0
        return index + 1, start, ends[index] - start


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

    def _count(self, counts: Counter[Hashable], entries: Sequence[PriorAssignment]) -> None:
        arms = list(map(attrgetter("arm"), entries))
        levels = list(map(_factors_of, entries))
        for name in self._order:
            counts.update(zip(repeat(name), map(itemgetter(name), levels), arms))

    def _next(self, seed: bytes, tally: AllocationTally, factors: dict[str, str]) -> Assignment:
        held = tally._counts
        rows = [[held[name, factors[name], arm] for arm in self.arms] for name in self._order]
        counts = np.asarray(rows, dtype=np.int64)
        scores = core.minimisation_scores(counts, self.ratio, self.weights, self.imbalance)
        probabilities = core.minimisation_probabilities(scores, self.ratio, self.p_best)
        number = tally.n + 1
        u = np.asarray(uniform(seed, f"minimisation|{number}"))
        arm = int(core.arm_from_uniform(u, probabilities))
        return Assignment(
            sequence_number=number,
            arm=self.arms[arm],
            method=self.method,
            factors=factors,
            probabilities=self._probabilities(probabilities.tolist()),
            imbalance=self._probabilities(scores.tolist()),
        )
