"""Concealed allocators: behaviour, bad input, replay, and hand-derived probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from hepatrial.allocation import (
    Allocator,
    MinimisationAllocator,
    PermutedBlockAllocator,
    PriorAssignment,
    SimpleAllocator,
    factor_levels,
    minimisation_assignments,
    minimisation_imbalance_bound,
)
from hepatrial.allocation.core import minimisation_probabilities, minimisation_scores
from hepatrial.exceptions import AllocationError
from hepatrial.protocol import Factor, load_protocol

SEED = bytes(range(32))


def _run(
    allocator: Allocator, factor_list: list[dict[str, str]], seed: bytes = SEED
) -> list[PriorAssignment]:
    history: list[PriorAssignment] = []
    for factors in factor_list:
        assignment = allocator.assign(seed=seed, history=history, factors=factors)
        history.append(PriorAssignment(assignment.sequence_number, assignment.arm, factors))
    return history


def test_from_protocol_builds_the_named_method() -> None:
    assert isinstance(Allocator.from_protocol(load_protocol("match")), MinimisationAllocator)
    assert isinstance(Allocator.from_protocol(load_protocol("msc-aclf")), PermutedBlockAllocator)
    realistic = Allocator.from_protocol(load_protocol("realistic"))
    assert realistic.arms == ("standard-care", "gcsf", "gcsf-cd133")


def test_short_seed_is_refused() -> None:
    allocator = SimpleAllocator(["a", "b"], [1, 1])
    with pytest.raises(AllocationError, match="at least 16 random bytes; got 8 bytes"):
        allocator.assign(seed=b"12345678", history=[], factors={})


def test_gap_in_history_is_refused() -> None:
    allocator = SimpleAllocator(["a", "b"], [1, 1])
    with pytest.raises(AllocationError, match="position 2 holds #3"):
        allocator.assign(
            seed=SEED, history=[PriorAssignment(1, "a"), PriorAssignment(3, "b")], factors={}
        )


def test_unknown_arm_and_level_are_refused() -> None:
    allocator = Allocator.from_protocol(load_protocol("match"))
    with pytest.raises(AllocationError, match="names arm 'placebo'"):
        allocator.assign(
            seed=SEED,
            history=[PriorAssignment(1, "placebo", {"aetiology": "alcohol"})],
            factors={"aetiology": "alcohol"},
        )
    with pytest.raises(AllocationError, match="aetiology='hbv' is not a level; levels: alcohol"):
        allocator.assign(seed=SEED, history=[], factors={"aetiology": "hbv"})
    with pytest.raises(AllocationError, match="factors must be exactly"):
        allocator.assign(seed=SEED, history=[], factors={"aetiology": "other", "site": "x"})


def test_levels_that_could_forge_a_stratum_label_are_refused() -> None:
    allocator = Allocator.from_protocol(load_protocol("realistic"))
    with pytest.raises(AllocationError, match=r"levels may not contain '\|' or '='"):
        allocator.assign(
            seed=SEED, history=[], factors={"site": "a|aetiology=viral", "aetiology": "viral"}
        )
    with pytest.raises(AllocationError, match="must be non-empty text"):
        allocator.assign(seed=SEED, history=[], factors={"site": " ", "aetiology": "viral"})


def test_batch_minimisation_refuses_too_few_levels() -> None:
    codes = np.zeros((2, 5, 1), dtype=np.int64)
    codes[0, 0, 0] = 3
    with pytest.raises(AllocationError, match="codes need at least"):
        minimisation_assignments(np.random.default_rng(1), codes, (1, 1), n_levels=[2])


def test_sequence_numbers_and_reproducibility() -> None:
    allocator = Allocator.from_protocol(load_protocol("realistic"))
    rng = np.random.default_rng(7)
    factors = [
        {
            "site": str(rng.choice(["dundee", "edinburgh"])),
            "aetiology": str(rng.choice(["alcohol", "viral"])),
        }
        for _ in range(30)
    ]
    first, second = _run(allocator, factors), _run(allocator, factors)
    assert [p.arm for p in first] == [p.arm for p in second]
    assert [p.sequence_number for p in first] == list(range(1, 31))
    other = _run(allocator, factors, seed=bytes(range(1, 33)))
    assert [p.arm for p in first] != [p.arm for p in other]


def test_replay_verifies_and_detects_tampering() -> None:
    allocator = Allocator.from_protocol(load_protocol("msc-aclf"))
    bands = [{"meld_band": "meld_below_22" if i % 3 else "meld_22_or_more"} for i in range(40)]
    history = _run(allocator, bands)
    report = allocator.replay(seed=SEED, history=history)
    assert report.ok and report.n_checked == 40
    tampered = list(history)
    swapped = "msc" if history[16].arm != "msc" else "standard-medical-therapy"
    tampered[16] = PriorAssignment(17, swapped, history[16].factors)
    bad = allocator.replay(seed=SEED, history=tampered)
    assert (bad.ok, bad.first_mismatch, bad.recorded_arm) == (False, 17, swapped)
    assert "allocation #17 was recorded as" in bad.message


def test_block_assignment_reports_its_block() -> None:
    allocator = PermutedBlockAllocator(["a", "b"], [1, 1], [2, 4])
    history = _run(allocator, [{}] * 12)
    last = allocator.assign(seed=SEED, history=history, factors={})
    assert last.stratum == "all" and last.stratum_sequence == 13
    assert last.block_size in (2, 4) and last.block_position is not None
    assert 1 <= last.block_position <= last.block_size
    assert set(last.site_view) == {"sequence_number", "arm"}


def test_factor_levels_bands_and_categories() -> None:
    msc = load_protocol("msc-aclf")
    assert factor_levels(msc, {"meld": 21.9}) == {"meld_band": "meld_below_22"}
    assert factor_levels(msc, {"meld": 22}) == {"meld_band": "meld_22_or_more"}
    realistic = load_protocol("realistic")
    assert factor_levels(realistic, {"site": "leeds", "aetiology": "masld", "age": 50}) == {
        "site": "leeds",
        "aetiology": "masld",
    }
    with pytest.raises(AllocationError, match="needs 'meld'"):
        factor_levels(msc, {})
    with pytest.raises(AllocationError, match="aetiology='nash' is not allowed"):
        factor_levels(realistic, {"site": "leeds", "aetiology": "nash"})


def test_minimisation_scores_by_hand() -> None:
    """Two factors, two arms, range imbalance, weights 1.

    Counts among earlier participants sharing the newcomer's levels: factor 1 (A=3, B=1),
    factor 2 (A=2, B=2). Joining A: ranges |4-1| + |3-2| = 4; joining B: |3-2| + |2-3| = 2.
    So B is best and gets p_best = 0.8.
    """
    counts = np.array([[3, 1], [2, 2]])
    scores = minimisation_scores(counts, (1, 1), np.ones(2), "range")
    assert scores.tolist() == [4.0, 2.0]
    assert minimisation_probabilities(scores, (1, 1), 0.8).tolist() == pytest.approx([0.2, 0.8])


def test_minimisation_with_unequal_ratio_by_hand() -> None:
    """Ratio 2:1, one factor, counts A=4, B=2 (balanced to the ratio).

    Counts are scaled by lcm/ratio = (1, 2): A=4, B=4. Joining A: (5, 4), range 1;
    joining B: (4, 6), range 2. A is best: probability 0.8; B: 0.2.
    """
    scores = minimisation_scores(np.array([[4, 2]]), (2, 1), np.ones(1), "range")
    assert scores.tolist() == [1.0, 2.0]
    assert minimisation_probabilities(scores, (2, 1), 0.8).tolist() == pytest.approx([0.8, 0.2])


def test_minimisation_unequal_ratio_from_empty_by_hand() -> None:
    """Three arms 2:1:1, no history, variance imbalance.

    Scale factors lcm/ratio = (1, 2, 2). Joining A gives scaled counts (1, 0, 0): K*sum(x^2) -
    (sum x)^2 = 3*1 - 1 = 2; joining B gives (0, 2, 0): 3*4 - 4 = 8; C likewise 8. A is the
    unique best (0.8); B and C share 0.2 in their ratio 1:1 (0.1 each).
    """
    scores = minimisation_scores(
        np.zeros((1, 3), dtype=np.int64), (2, 1, 1), np.ones(1), "variance"
    )
    assert scores.tolist() == [2.0, 8.0, 8.0]
    probabilities = minimisation_probabilities(scores, (2, 1, 1), 0.8)
    assert probabilities.tolist() == pytest.approx([0.8, 0.1, 0.1])


def test_minimisation_tied_best_arms_share_p_by_ratio() -> None:
    """Arms 2:2:1, no history, range imbalance: scale (1, 1, 2). Joining A: (1, 0, 0), range 1;
    B: range 1; C: (0, 0, 2), range 2. A and B tie and share 0.8 in ratio 2:2; C gets 0.2.
    With no history and ratio 1:1, both arms tie and each gets 1/2."""
    scores = minimisation_scores(np.zeros((1, 3), dtype=np.int64), (2, 2, 1), np.ones(1), "range")
    assert scores.tolist() == [1.0, 1.0, 2.0]
    assert minimisation_probabilities(scores, (2, 2, 1), 0.8).tolist() == pytest.approx(
        [0.4, 0.4, 0.2]
    )
    even = minimisation_scores(np.zeros((1, 2), dtype=np.int64), (1, 1), np.ones(1), "range")
    assert minimisation_probabilities(even, (1, 1), 0.8).tolist() == [0.5, 0.5]


def test_minimisation_best_pair_shares_p() -> None:
    """Three arms 1:1:1, one factor with counts (1, 0, 0): B and C tie as best (range 1 vs 2).

    They share 0.8 equally (0.4 each) and A receives 0.2.
    """
    scores = minimisation_scores(np.array([[1, 0, 0]]), (1, 1, 1), np.ones(1), "range")
    assert scores.tolist() == [2.0, 1.0, 1.0]
    assert minimisation_probabilities(scores, (1, 1, 1), 0.8).tolist() == pytest.approx(
        [0.2, 0.4, 0.4]
    )


def test_minimisation_assignment_reports_imbalance() -> None:
    allocator = MinimisationAllocator(
        ["a", "b"], [1, 1], [Factor(name="sex", levels=("f", "m"))], p_best=1.0
    )
    history = _run(allocator, [{"sex": "f"}])
    nxt = allocator.assign(seed=SEED, history=history, factors={"sex": "f"})
    assert nxt.arm != history[0].arm  # deterministic when p_best = 1
    assert nxt.probabilities[nxt.arm] == 1.0
    assert nxt.imbalance is not None and sorted(nxt.imbalance.values()) == [0.0, 2.0]


def test_bound_values() -> None:
    """p = 0.8, n = 400, alpha = 1e-6: need 400 * 0.25^(d-1) / 0.6 <= 1e-6, i.e.
    d - 1 >= log(400 / 6e-7) / log 4 = 14.65, so d = 16."""
    assert minimisation_imbalance_bound(0.8, 400, 1e-6) == 16
    assert minimisation_imbalance_bound(1.0, 10) == 1
    with pytest.raises(ValueError, match="p_best must be in"):
        minimisation_imbalance_bound(0.5, 10)


@pytest.mark.parametrize("module", ["hepatrial.allocation.bounds", "hepatrial.allocation.factors"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def _match_entries(allocator: Allocator) -> list[PriorAssignment]:
    macrophage, standard = allocator.arms
    return [
        PriorAssignment(1, macrophage, {"aetiology": "alcohol"}),
        PriorAssignment(2, standard, {"aetiology": "alcohol"}),
        PriorAssignment(3, macrophage, {"aetiology": "masld"}),
    ]


def test_tally_counts_by_hand() -> None:
    """MATCH (minimisation on aetiology): alcohol once in each arm, masld once in macrophage.
    msc-aclf (permuted blocks by MELD band): two below 22, one 22 or more. Simple: only n."""
    match = Allocator.from_protocol(load_protocol("match"))
    tally = match.tally(_match_entries(match))
    assert tally.n == 3 and tally.allocator is match
    assert tally.counts == {
        ("aetiology", "alcohol", "macrophage"): 1,
        ("aetiology", "alcohol", "standard-care"): 1,
        ("aetiology", "masld", "macrophage"): 1,
    }
    msc = Allocator.from_protocol(load_protocol("msc-aclf"))
    bands = ["meld_below_22", "meld_22_or_more", "meld_below_22"]
    blocks = msc.tally(PriorAssignment(i + 1, "msc", {"meld_band": b}) for i, b in enumerate(bands))
    assert blocks.counts == {("meld_below_22",): 2, ("meld_22_or_more",): 1}
    simple = SimpleAllocator(["a", "b"], [1, 1])
    plain = simple.tally([PriorAssignment(1, "a"), PriorAssignment(2, "a")])
    assert (plain.n, plain.counts) == (2, {})
    unstratified = PermutedBlockAllocator(["a", "b"], [1, 1], [2, 4])
    assert unstratified.tally([PriorAssignment(1, "b")]).counts == {(): 1}


def test_assign_next_is_assign_and_leaves_the_tally_alone() -> None:
    allocator = Allocator.from_protocol(load_protocol("match"))
    history = _match_entries(allocator)
    tally = allocator.tally(history[:1])
    tally.extend(history[1:])
    before = tally.counts
    nxt = allocator.assign_next(seed=SEED, tally=tally, factors={"aetiology": "alcohol"})
    assert nxt == allocator.assign(seed=SEED, history=history, factors={"aetiology": "alcohol"})
    assert nxt.sequence_number == 4
    assert (tally.n, tally.counts) == (3, before)
    with pytest.raises(AllocationError, match="participant #4: factor aetiology='hbv' is not a"):
        allocator.assign_next(seed=SEED, tally=tally, factors={"aetiology": "hbv"})
    with pytest.raises(AllocationError, match="at least 16 random bytes; got 3 bytes"):
        allocator.assign_next(seed=b"abc", tally=tally, factors={"aetiology": "alcohol"})


def test_extend_is_atomic_and_names_the_bad_position() -> None:
    """A chunk with a bad entry in the middle is refused whole: n and the counts stay as they
    were, and the error names the entry's position in the whole history."""
    allocator = Allocator.from_protocol(load_protocol("match"))
    macrophage, standard = allocator.arms
    tally = allocator.tally(_match_entries(allocator)[:2])
    before = tally.counts
    good4 = PriorAssignment(4, standard, {"aetiology": "other"})
    good5 = PriorAssignment(5, macrophage, {"aetiology": "other"})
    bad_chunks = {
        "history #4 names arm 'placebo'; arms: macrophage, standard-care": [
            PriorAssignment(3, macrophage, {"aetiology": "masld"}),
            PriorAssignment(4, "placebo", {"aetiology": "other"}),
            good5,
        ],
        "position 4 holds #5": [PriorAssignment(3, macrophage, {"aetiology": "masld"}), good5],
        "position 3 holds #1": [PriorAssignment(1, macrophage, {"aetiology": "masld"})],
        "history #4: factor aetiology='hbv' is not a level; levels: alcohol, masld, other": [
            PriorAssignment(3, macrophage, {"aetiology": "masld"}),
            PriorAssignment(4, standard, {"aetiology": "hbv"}),
            good5,
        ],
        r"history #3: factors must be exactly \['aetiology'\]; got \['aetiology', 'site'\]": [
            PriorAssignment(3, macrophage, {"aetiology": "masld", "site": "leeds"})
        ],
    }
    for message, chunk in bad_chunks.items():
        with pytest.raises(AllocationError, match=message):
            tally.extend(chunk)
        assert (tally.n, tally.counts) == (2, before)
    tally.extend([PriorAssignment(3, macrophage, {"aetiology": "masld"}), good4, good5])
    history = [*_match_entries(allocator), good4, good5]
    assert tally.n == 5
    assert allocator.assign_next(seed=SEED, tally=tally, factors={"aetiology": "other"}) == (
        allocator.assign(seed=SEED, history=history, factors={"aetiology": "other"})
    )


def test_tally_of_another_allocator_is_refused() -> None:
    """Even an allocator built from the same protocol needs its own tally."""
    first = Allocator.from_protocol(load_protocol("match"))
    second = Allocator.from_protocol(load_protocol("match"))
    tally = first.tally(_match_entries(first))
    with pytest.raises(AllocationError, match=r"belongs to another allocator \(minimisation, arms"):
        second.assign_next(seed=SEED, tally=tally, factors={"aetiology": "alcohol"})
    blocks = Allocator.from_protocol(load_protocol("msc-aclf"))
    with pytest.raises(AllocationError, match="this one \\(permuted_blocks, arms msc, standard"):
        blocks.assign_next(seed=SEED, tally=tally, factors={"meld_band": "meld_below_22"})
    with pytest.raises(AllocationError, match="tally must be an AllocationTally .*; got list"):
        first.assign_next(
            seed=SEED,
            tally=_match_entries(first),  # type: ignore[arg-type]
            factors={"aetiology": "alcohol"},
        )


def test_block_tally_follows_the_seed_it_is_asked_with() -> None:
    """One permuted-block tally asked with two seeds in turn gives each seed's allocation."""
    allocator = Allocator.from_protocol(load_protocol("msc-aclf"))
    bands = [{"meld_band": "meld_below_22" if i % 3 else "meld_22_or_more"} for i in range(30)]
    history = _run(allocator, bands)
    other = bytes(range(1, 33))
    tally = allocator.tally()
    for done in range(0, 31, 5):
        tally.extend(history[tally.n : done])
        for seed in (SEED, other, SEED):
            expected = allocator.assign(seed=seed, history=history[:done], factors=bands[0])
            assert allocator.assign_next(seed=seed, tally=tally, factors=bands[0]) == expected
