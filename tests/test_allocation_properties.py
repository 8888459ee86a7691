"""Property tests of the allocators (Hypothesis) and Monte Carlo checks of the batch generators.

Hypothesis runs derandomized, so every run checks the same examples; the one probabilistic
property (minimisation imbalance under a random element) uses a bound whose false-alarm
probability is at most 1e-6 per trial and is derived in its docstring.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hepatrial.allocation import (
    Allocator,
    MinimisationAllocator,
    PermutedBlockAllocator,
    PriorAssignment,
    SimpleAllocator,
    core,
    minimisation_assignments,
    minimisation_imbalance_bound,
    permuted_block_assignments,
    simple_assignments,
)
from hepatrial.allocation._draws import uniform, uniforms
from hepatrial.allocation.results import Assignment
from hepatrial.protocol import Factor

PROPERTY = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
seeds = st.binary(min_size=16, max_size=32)
ratios = st.sampled_from([(1, 1), (2, 1), (1, 2), (1, 1, 1), (2, 1, 1)])
SITE = Factor(name="site", levels=("a", "b", "c"))
SEX = Factor(name="sex", levels=("f", "m"))


def _run(
    allocator: Allocator, seed: bytes, factor_list: Sequence[dict[str, str]]
) -> list[Assignment]:
    history: list[PriorAssignment] = []
    made: list[Assignment] = []
    for factors in factor_list:
        assignment = allocator.assign(seed=seed, history=history, factors=factors)
        made.append(assignment)
        history.append(PriorAssignment(assignment.sequence_number, assignment.arm, factors))
    return made


def _arms(ratio: Sequence[int]) -> list[str]:
    return [f"arm{k}" for k in range(len(ratio))]


def _block_allocator(ratio: tuple[int, ...], stratified: bool) -> PermutedBlockAllocator:
    total = sum(ratio)
    return PermutedBlockAllocator(
        _arms(ratio), ratio, [total, 2 * total], [SITE, SEX] if stratified else []
    )


def _factor_lists(n_max: int) -> st.SearchStrategy[list[dict[str, str]]]:
    return st.lists(
        st.fixed_dictionaries({"site": st.sampled_from("abc"), "sex": st.sampled_from("fm")}),
        min_size=1,
        max_size=n_max,
    )


@PROPERTY
@given(seed=seeds, ratio=ratios, factor_list=_factor_lists(40))
def test_same_seed_same_sequence(
    seed: bytes, ratio: tuple[int, ...], factor_list: list[dict[str, str]]
) -> None:
    allocators: list[Allocator] = [
        _block_allocator(ratio, stratified=True),
        MinimisationAllocator(_arms(ratio), ratio, [SITE, SEX], p_best=0.8),
    ]
    for allocator in allocators:
        first = [a.arm for a in _run(allocator, seed, factor_list)]
        second = [a.arm for a in _run(allocator, seed, factor_list)]
        assert first == second
    simple = SimpleAllocator(_arms(ratio), ratio)
    plain = [{} for _ in factor_list]
    assert [a.arm for a in _run(simple, seed, plain)] == [a.arm for a in _run(simple, seed, plain)]


@PROPERTY
@given(seed=seeds, ratio=ratios, factor_list=_factor_lists(60))
def test_strata_never_mix(
    seed: bytes, ratio: tuple[int, ...], factor_list: list[dict[str, str]]
) -> None:
    """A stratum's arms depend only on its own participants: running the stratum alone gives the
    same arms, block numbers and positions as running it interleaved with the others."""
    allocator = _block_allocator(ratio, stratified=True)
    together = _run(allocator, seed, factor_list)
    for assignment in together:
        factors = assignment.factors
        assert assignment.stratum == f"site={factors['site']}|sex={factors['sex']}"
    for stratum in {a.stratum for a in together}:
        mine = [a for a in together if a.stratum == stratum]
        alone = _run(allocator, seed, [dict(a.factors) for a in mine])
        assert [(a.arm, a.block_number, a.block_position) for a in alone] == [
            (a.arm, a.block_number, a.block_position) for a in mine
        ]
        assert all(a.stratum == stratum for a in alone)


@PROPERTY
@given(seed=seeds, ratio=ratios, factor_list=_factor_lists(60), stratified=st.booleans())
def test_every_completed_block_is_balanced(
    seed: bytes, ratio: tuple[int, ...], factor_list: list[dict[str, str]], stratified: bool
) -> None:
    """A block of size b holds exactly b * r_k / sum(r) of arm k once all its positions are
    filled; positions fill 1, 2, ..., b in order within each stratum."""
    allocator = _block_allocator(ratio, stratified)
    if not stratified:
        factor_list = [{} for _ in factor_list]
    blocks: dict[tuple[str | None, int | None], list[Assignment]] = defaultdict(list)
    for assignment in _run(allocator, seed, factor_list):
        blocks[(assignment.stratum, assignment.block_number)].append(assignment)
    for members in blocks.values():
        size = members[0].block_size
        assert size is not None and size in allocator.block_sizes
        assert [a.block_position for a in members] == list(range(1, len(members) + 1))
        if len(members) == size:
            counts = Counter(a.arm for a in members)
            for arm, share in zip(allocator.arms, ratio, strict=True):
                assert counts[arm] == share * size // sum(ratio)


@PROPERTY
@given(seed=seeds, ratio=ratios, factor_list=_factor_lists(30), data=st.data())
def test_replay_detects_a_tampered_history(
    seed: bytes, ratio: tuple[int, ...], factor_list: list[dict[str, str]], data: st.DataObject
) -> None:
    """Changing one recorded arm is reported at exactly that sequence number: the recomputation
    of allocation i uses only the (untouched) history before i."""
    allocators: list[Allocator] = [
        _block_allocator(ratio, stratified=True),
        MinimisationAllocator(_arms(ratio), ratio, [SITE, SEX], p_best=0.8),
    ]
    for allocator in allocators:
        made = _run(allocator, seed, factor_list)
        history = [PriorAssignment(a.sequence_number, a.arm, dict(a.factors)) for a in made]
        assert allocator.replay(seed=seed, history=history).ok
        index = data.draw(st.integers(0, len(history) - 1))
        other = data.draw(st.sampled_from([a for a in allocator.arms if a != history[index].arm]))
        history[index] = PriorAssignment(index + 1, other, history[index].factors)
        report = allocator.replay(seed=seed, history=history)
        assert not report.ok
        assert (report.first_mismatch, report.recorded_arm) == (index + 1, other)
        assert report.expected_arm == made[index].arm


@PROPERTY
@given(seed=seeds, levels=st.lists(st.sampled_from("abc"), min_size=1, max_size=120))
def test_deterministic_minimisation_keeps_each_level_within_one(
    seed: bytes, levels: list[str]
) -> None:
    """With p_best = 1, one factor and equal ratios (2 or 3 arms), the newcomer joins an arm with
    the fewest participants of its level: joining a least-filled arm never raises the range above
    max(range, 1), and any other arm would give a larger range. From 0 the range of every level
    therefore never exceeds 1 (deterministic bound)."""
    for n_arms in (2, 3):
        allocator = MinimisationAllocator(
            _arms([1] * n_arms), [1] * n_arms, [SITE], p_best=1.0, imbalance="range"
        )
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for assignment in _run(allocator, seed, [{"site": level} for level in levels]):
            level_counts = counts[assignment.factors["site"]]
            level_counts[assignment.arm] += 1
            values = [level_counts[arm] for arm in allocator.arms]
            assert max(values) - min(values) <= 1


@PROPERTY
@given(seed=seeds, n=st.integers(1, 90))
def test_deterministic_minimisation_respects_a_2_to_1_ratio(seed: bytes, n: int) -> None:
    """Ratio 2:1, one level, p_best = 1. Scaled counts are (c_A, 2 c_B); with d = c_A - 2 c_B,
    joining A gives |d + 1| and joining B |d - 2|, so A is chosen iff d <= 0. From d = 0 the walk
    is 0 -> 1 -> -1 -> 0 (A, B, A): |c_A - 2 c_B| <= 1 at every step."""
    allocator = MinimisationAllocator(["a", "b"], [2, 1], [SEX], p_best=1.0)
    c_a = c_b = 0
    for assignment in _run(allocator, seed, [{"sex": "f"}] * n):
        c_a, c_b = c_a + (assignment.arm == "a"), c_b + (assignment.arm == "b")
        assert abs(c_a - 2 * c_b) <= 1


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=seeds, levels=st.lists(st.sampled_from("abc"), min_size=150, max_size=300))
def test_random_element_imbalance_within_bound(seed: bytes, levels: list[str]) -> None:
    """Two arms 1:1, one factor, p = 0.8. Within a level, D = |n_A - n_B| is a birth-death chain:
    from 0 it goes to 1; from k >= 1 to k - 1 with probability p (the lagging arm is the unique
    best) and to k + 1 with probability q = 1 - p. Its stationary law has pi(k) proportional to
    (q/p)^(k-1) / p for k >= 1; reversibility gives P(D_t >= d) <= (q/p)^(d-1) / (p - q), and a
    union bound over the n steps P(max D >= d) <= n (q/p)^(d-1) / (p - q). For n = 300 and
    false-alarm 1e-6 this gives d = 16 (see hepatrial.allocation.bounds)."""
    allocator = MinimisationAllocator(["a", "b"], [1, 1], [SITE], p_best=0.8)
    bound = minimisation_imbalance_bound(0.8, len(levels), 1e-6)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for assignment in _run(allocator, seed, [{"site": level} for level in levels]):
        level_counts = counts[assignment.factors["site"]]
        level_counts[assignment.arm] += 1
        assert abs(level_counts["a"] - level_counts["b"]) < bound


def _partition_into_blocks(
    sequence: np.ndarray, ratio: tuple[int, ...], sizes: Sequence[int]
) -> bool:
    """True when ``sequence`` is a run of balanced blocks (sizes from ``sizes``) followed by the
    beginning of one more block (no arm beyond its share)."""
    total = sum(ratio)
    n = len(sequence)
    reachable = [True] + [False] * n
    for start in range(n):
        if not reachable[start]:
            continue
        for size in sizes:
            segment = sequence[start : start + size]
            quota = [r * size // total for r in ratio]
            counts = np.bincount(segment, minlength=len(ratio))
            if len(segment) == size and list(counts) == quota:
                reachable[start + size] = True
            elif len(segment) < size and all(counts <= quota):
                return True
    return reachable[n]


@PROPERTY
@given(
    seed=st.integers(0, 2**32 - 1),
    ratio=ratios,
    n=st.integers(1, 40),
    n_strata=st.integers(1, 3),
)
def test_batch_blocks_are_balanced_within_strata(
    seed: int, ratio: tuple[int, ...], n: int, n_strata: int
) -> None:
    rng = np.random.default_rng(seed)
    sizes = (sum(ratio), 2 * sum(ratio))
    strata = rng.integers(0, n_strata, size=(3, n))
    arms = permuted_block_assignments(rng, 3, n, ratio, sizes, strata=strata)
    assert arms.shape == (3, n) and arms.min() >= 0 and arms.max() < len(ratio)
    for trial in range(3):
        for stratum in range(n_strata):
            sequence = arms[trial][strata[trial] == stratum]
            assert _partition_into_blocks(sequence, ratio, sizes)


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 80))
def test_batch_minimisation_deterministic_bound(seed: int, n: int) -> None:
    """The batch engine obeys the same deterministic bound as the concealed one (p_best = 1)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 3, size=(4, n, 1))
    arms = minimisation_assignments(rng, codes, (1, 1, 1), p_best=1.0)
    for trial in range(4):
        for level in range(3):
            counts = np.bincount(arms[trial][codes[trial, :, 0] == level], minlength=3)
            assert counts.max() - counts.min() <= 1


def test_ratio_respected_by_simple_randomization() -> None:
    """200 000 draws at 2:1:1: each proportion within 4 binomial standard errors of 1/2, 1/4,
    1/4 (SE = sqrt(p(1-p)/N) = 0.0011 and 0.00097). Fixed generator seed: deterministic."""
    arms = simple_assignments(np.random.default_rng(20261122), 1000, 200, (2, 1, 1))
    proportions = np.bincount(arms.ravel(), minlength=3) / arms.size
    for observed, expected in zip(proportions, (0.5, 0.25, 0.25), strict=True):
        assert abs(observed - expected) < 4 * np.sqrt(expected * (1 - expected) / arms.size)


def test_ratio_respected_by_concealed_simple_draws() -> None:
    """1200 concealed draws at 2:1 from a fixed seed: proportion of the first arm within 4 SE
    of 2/3 (SE = sqrt(2/9 / 1200) = 0.0136). Checks that HMAC draws behave as uniforms."""
    allocator = SimpleAllocator(["a", "b"], [2, 1])
    seed = b"a fixed test seed, 32 bytes long"
    history = [PriorAssignment(i + 1, "a") for i in range(1200)]
    arms = [allocator.assign(seed=seed, history=history[:i], factors={}).arm for i in range(1200)]
    share = arms.count("a") / 1200
    assert abs(share - 2 / 3) < 4 * np.sqrt(2 / 9 / 1200)


def test_minimisation_batch_ratio_respected_under_random_element() -> None:
    """Ratio 2:1, two factors of three levels, p = 0.8, 1000 trials each at n = 90 and n = 360.

    With c_A + c_B = n and d = c_A - 2 c_B, the share of arm A is exactly 2/3 + d / (3 n). Under
    simple randomization d = 3 c_A - 2 n has SD sqrt(2 n) (13.4 and 26.8), growing with n; the
    ratio is respected by minimisation when |d| stays bounded instead. Checked: (1) mean |d|
    under minimisation is below half of simple randomization's, for the same n and
    generator; (2) it does not grow like sqrt(n): from n = 90 to 360 simple randomization's mean
    |d| doubles, minimisation's grows by less than 25% (4 Monte Carlo SE allowed). A finite-n
    bias E[d] / (3 n) remains: within a level A is favoured by one step when d <= 0 and B by two
    when d >= 1, so E[d] is a small negative constant and the bias vanishes as 1/n.
    """
    rng = np.random.default_rng(5)
    means, ses = [], []
    for n in (90, 360):
        codes = rng.integers(0, 3, size=(1000, n, 2))
        arms = minimisation_assignments(rng, codes, (2, 1), p_best=0.8)
        d = np.abs((arms == 0).sum(axis=1) - 2 * (arms == 1).sum(axis=1))
        simple = simple_assignments(rng, 1000, n, (2, 1))
        d_simple = np.abs((simple == 0).sum(axis=1) - 2 * (simple == 1).sum(axis=1))
        assert d.mean() < 0.5 * d_simple.mean()
        means.append(d.mean())
        ses.append(d.std(ddof=1) / np.sqrt(d.size))
    assert means[1] < 1.25 * means[0] + 4 * float(np.hypot(*ses))


def test_assignment_exposes_block_details_only_in_the_sealed_log() -> None:
    allocator = _block_allocator((1, 1), stratified=False)
    assignment = allocator.assign(seed=bytes(16), history=[], factors={})
    assert assignment.site_view == {"sequence_number": 1, "arm": assignment.arm}


@pytest.mark.parametrize("method", ["blocks", "minimisation"])
def test_different_seeds_give_different_sequences(method: str) -> None:
    """Two 40-participant sequences from independent seeds coincide with probability well
    below 2^-10 for blocks of 2 and 4 (each completed block is a fresh permutation)."""
    allocator: Allocator
    if method == "blocks":
        allocator = PermutedBlockAllocator(["a", "b"], [1, 1], [2, 4])
    else:
        allocator = MinimisationAllocator(["a", "b"], [1, 1], [SEX], p_best=0.5 + 1e-9)
    factors = [{} if method == "blocks" else {"sex": "f"} for _ in range(40)]
    first = [a.arm for a in _run(allocator, b"seed one, sixteen+", factors)]
    second = [a.arm for a in _run(allocator, b"seed two, sixteen+", factors)]
    assert first != second


class _HmacStream:
    """Stands in for a Generator: returns the concealed allocator's uniforms, in sequence."""

    def __init__(self, seed: bytes, method: str) -> None:
        self.seed, self.method, self.number = seed, method, 0

    def random(self, size: int | tuple[int, int]) -> np.ndarray:
        from hepatrial.allocation._draws import uniform

        count = size if isinstance(size, int) else size[1]
        draws = []
        for _ in range(count):
            self.number += 1
            draws.append(uniform(self.seed, f"{self.method}|{self.number}"))
        return np.asarray(draws).reshape((1, count) if not isinstance(size, int) else (count,))


@PROPERTY
@given(seed=seeds, ratio=ratios, factor_list=_factor_lists(50), p_best=st.sampled_from([0.7, 1.0]))
def test_batch_and_concealed_minimisation_are_the_same_engine(
    seed: bytes, ratio: tuple[int, ...], factor_list: list[dict[str, str]], p_best: float
) -> None:
    """Fed the same uniforms, the batch engine reproduces the concealed allocations exactly."""
    allocator = MinimisationAllocator(_arms(ratio), ratio, [SITE, SEX], p_best=p_best)
    concealed = [allocator.arms.index(a.arm) for a in _run(allocator, seed, factor_list)]
    codes = np.asarray(
        [[["abc".index(f["site"]), "fm".index(f["sex"])] for f in factor_list]], dtype=np.int64
    )
    batch = minimisation_assignments(
        _HmacStream(seed, "minimisation"),  # type: ignore[arg-type]
        codes,
        ratio,
        p_best=p_best,
        n_levels=[3, 2],
    )
    assert batch[0].tolist() == concealed


@PROPERTY
@given(seed=seeds, ratio=ratios, n=st.integers(1, 60))
def test_batch_and_concealed_simple_randomization_are_the_same_engine(
    seed: bytes, ratio: tuple[int, ...], n: int
) -> None:
    allocator = SimpleAllocator(_arms(ratio), ratio)
    concealed = [allocator.arms.index(a.arm) for a in _run(allocator, seed, [{}] * n)]
    batch = simple_assignments(_HmacStream(seed, "simple"), 1, n, ratio)  # type: ignore[arg-type]
    assert batch[0].tolist() == concealed


# Incremental allocation: a tally extended in chunks against counting the whole history.

WEIGHTED_SEX = Factor(name="sex", levels=("f", "m"), weight=0.5)
TALLY_ALLOCATORS: dict[str, Allocator] = {
    "simple": SimpleAllocator(["a", "b"], [2, 1]),
    "blocks": PermutedBlockAllocator(["a", "b", "c"], [2, 1, 1], [4, 8], [SITE, SEX]),
    "minimisation-range": MinimisationAllocator(
        ["a", "b"], [2, 1], [SITE, WEIGHTED_SEX], p_best=0.8, imbalance="range"
    ),
    "minimisation-variance": MinimisationAllocator(
        ["a", "b"], [2, 1], [SITE, WEIGHTED_SEX], p_best=0.8, imbalance="variance"
    ),
}


def _reference_assignment(
    allocator: Allocator, seed: bytes, history: Sequence[PriorAssignment], factors: dict[str, str]
) -> Assignment:
    """The next assignment counted from the whole history: the rule as written before tallies.

    Simple: one uniform per sequence number over the ratio. Permuted blocks: the participant's
    position is the number of earlier participants with the same levels of every factor; all
    block sizes of the stratum up to that position are drawn and the block holding it is
    permuted. Minimisation: earlier participants sharing each factor's level are counted by arm.
    """
    number = len(history) + 1
    arms = allocator.arms
    if isinstance(allocator, SimpleAllocator):
        shares = core.ratio_probabilities(allocator.ratio)
        arm = int(core.arm_from_uniform(np.asarray(uniform(seed, f"simple|{number}")), shares))
        probabilities = {a: float(p) for a, p in zip(arms, shares, strict=True)}
        return Assignment(number, arms[arm], "simple", factors, probabilities)
    names = [f.name for f in allocator.factors]
    if isinstance(allocator, PermutedBlockAllocator):
        return _reference_block(allocator, seed, history, factors, names)
    assert isinstance(allocator, MinimisationAllocator)
    counts = np.zeros((len(names), len(arms)), dtype=np.int64)
    for prior in history:
        for row, name in enumerate(names):
            if prior.factors[name] == factors[name]:
                counts[row, arms.index(prior.arm)] += 1
    scores = core.minimisation_scores(
        counts, allocator.ratio, allocator.weights, allocator.imbalance
    )
    shares = core.minimisation_probabilities(scores, allocator.ratio, allocator.p_best)
    u = np.asarray(uniform(seed, f"minimisation|{number}"))
    arm = int(core.arm_from_uniform(u, shares))
    return Assignment(
        number,
        arms[arm],
        "minimisation",
        factors,
        {a: float(p) for a, p in zip(arms, shares, strict=True)},
        imbalance={a: float(s) for a, s in zip(arms, scores, strict=True)},
    )


def _reference_block(
    allocator: PermutedBlockAllocator,
    seed: bytes,
    history: Sequence[PriorAssignment],
    factors: dict[str, str],
    names: list[str],
) -> Assignment:
    stratum = "|".join(f"{name}={factors[name]}" for name in names) or "all"
    position = sum(all(p.factors[name] == factors[name] for name in names) for p in history)
    n_blocks = position // min(allocator.block_sizes) + 1
    draws = [uniform(seed, f"block-size|{stratum}|{k}") for k in range(1, n_blocks + 1)]
    sizes = core.block_size_from_uniform(np.asarray(draws), allocator.block_sizes)
    ends = np.cumsum(sizes)
    index = int(np.searchsorted(ends, position, side="right"))
    block, start, size = index + 1, int(ends[index] - sizes[index]), int(sizes[index])
    keys = uniforms(seed, f"block|{stratum}|{block}", max(allocator.block_sizes))
    order = core.block_arms_from_keys(keys[None, :], np.asarray([size]), allocator.ratio)[0]
    left = np.bincount(order[position - start : size], minlength=len(allocator.arms))
    shares = left.astype(np.float64) / left.sum()
    return Assignment(
        len(history) + 1,
        allocator.arms[int(order[position - start])],
        "permuted_blocks",
        factors,
        {a: float(p) for a, p in zip(allocator.arms, shares, strict=True)},
        stratum=stratum,
        stratum_sequence=position + 1,
        block_number=block,
        block_position=position - start + 1,
        block_size=size,
    )


def _exact(assignment: Assignment) -> tuple[object, ...]:
    """Every field, mappings as ordered item lists and floats as their bit patterns."""

    def items(mapping: object) -> object:
        if mapping is None:
            return None
        assert isinstance(mapping, dict)
        return [(k, v.hex() if isinstance(v, float) else v) for k, v in mapping.items()]

    a = assignment
    return (
        a.sequence_number,
        a.arm,
        a.method,
        items(a.factors),
        items(a.probabilities),
        a.stratum,
        a.stratum_sequence,
        a.block_number,
        a.block_position,
        a.block_size,
        items(a.imbalance),
    )


participants = st.lists(
    st.tuples(st.sampled_from("abc"), st.sampled_from("fm"), st.integers(0, 2)),
    min_size=16,
    max_size=60,
)


def _recorded_history(
    allocator: Allocator, seed: bytes, rows: list[tuple[str, str, int]], follow: bool
) -> list[PriorAssignment]:
    """Participants of ``rows``; their arms are the reference allocations (``follow``) or the
    arm index drawn in the row (any valid history, balanced or not)."""
    history: list[PriorAssignment] = []
    for site, sex, k in rows:
        factors = {"site": site, "sex": sex} if allocator.factors else {}
        arm = allocator.arms[k % len(allocator.arms)]
        if follow:
            arm = _reference_assignment(allocator, seed, history, factors).arm
        history.append(PriorAssignment(len(history) + 1, arm, factors))
    return history


@settings(PROPERTY, max_examples=100)
@given(
    seed=seeds,
    other_seed=seeds,
    method=st.sampled_from(sorted(TALLY_ALLOCATORS)),
    rows=participants,
    follow=st.booleans(),
    chunks=st.lists(st.integers(1, 9), min_size=1, max_size=45),
)
def test_tally_extended_in_chunks_gives_the_reference_assignment(
    seed: bytes,
    other_seed: bytes,
    method: str,
    rows: list[tuple[str, str, int]],
    follow: bool,
    chunks: list[int],
) -> None:
    """After every chunk, ``assign_next`` equals the whole-history reference, field by field and
    bit for bit: on a tally always asked with one seed (the permuted blocks' memo carries over
    from block to block) and on one asked with two seeds in turn (the memo is redrawn). So do
    ``assign`` and every step of ``replay``."""
    allocator = TALLY_ALLOCATORS[method]
    history = _recorded_history(allocator, seed, rows, follow)
    steady, switching = allocator.tally(), allocator.tally()
    done = 0
    for size in [*chunks, len(history)]:
        newcomer = dict(history[done].factors) if done < len(history) else dict(history[0].factors)
        expected = _exact(_reference_assignment(allocator, seed, history[:done], newcomer))
        other = _exact(_reference_assignment(allocator, other_seed, history[:done], newcomer))
        assert _exact(allocator.assign_next(seed=seed, tally=steady, factors=newcomer)) == expected
        for key, want in ((other_seed, other), (seed, expected)):
            assert (
                _exact(allocator.assign_next(seed=key, tally=switching, factors=newcomer)) == want
            )
        assert steady.n == switching.n == done
        if done == len(history):
            break
        steady.extend(history[done : done + size])
        switching.extend(history[done : done + size])
        done = min(done + size, len(history))
    last = dict(history[-1].factors)
    scratch = allocator.assign(seed=seed, history=history, factors=last)
    assert _exact(scratch) == _exact(_reference_assignment(allocator, seed, history, last))
    report = allocator.replay(seed=seed, history=history)
    expected_steps = []
    for index, prior in enumerate(history):
        expected_steps.append(
            _reference_assignment(allocator, seed, history[:index], dict(prior.factors))
        )
        if expected_steps[-1].arm != prior.arm:
            break
    assert [_exact(a) for a in report.assignments] == [_exact(a) for a in expected_steps]
    mismatch = next(
        (p for p, a in zip(history, expected_steps, strict=False) if a.arm != p.arm), None
    )
    assert report.first_mismatch == (None if mismatch is None else mismatch.sequence_number)
    if follow:
        assert report.ok and report.n_checked == len(history)
