"""Concealed randomization: simple, stratified permuted blocks, and Pocock-Simon minimisation.

An allocation is a pure, deterministic function of a sealed secret seed, the trial's prior
allocations and the new participant's factor levels (:class:`Allocator`); the random element comes
from HMAC-SHA256 of the seed, so the sequence is reproducible and verifiable by anyone holding the
seed (:meth:`Allocator.replay`) and unpredictable to anyone who does not. The same array cores
generate sequences for many simulated trials at once (:mod:`.batch`).

May import :mod:`hepatrial.protocol` and :mod:`hepatrial.exceptions`; never the store.

Public API
----------
- ``Allocator.from_protocol(protocol) -> Allocator``
- ``Allocator.assign(*, seed, history, factors) -> Assignment``
- ``Allocator.replay(*, seed, history) -> ReplayReport``
- ``Allocator.tally(history=()) -> AllocationTally``; ``AllocationTally.extend(entries)``,
  ``.n``, ``.counts``, ``.allocator``
- ``Allocator.assign_next(*, seed, tally, factors) -> Assignment``
- ``SimpleAllocator(arms, ratio)``,
  ``PermutedBlockAllocator(arms, ratio, block_sizes, factors=())``,
  ``MinimisationAllocator(arms, ratio, factors, *, p_best, imbalance="range")``
- ``PriorAssignment(sequence_number, arm, factors)``, ``Assignment``, ``ReplayReport``
- ``new_seed() -> bytes``
- ``factor_levels(protocol, values) -> dict[str, str]``
- ``simple_assignments``, ``permuted_block_assignments``, ``minimisation_assignments`` (batch)
- ``minimisation_imbalance_bound(p_best, n_participants, false_alarm=1e-6) -> int``
"""

from hepatrial.allocation._draws import new_seed
from hepatrial.allocation.allocators import (
    AllocationTally,
    Allocator,
    MinimisationAllocator,
    PermutedBlockAllocator,
    SimpleAllocator,
    stratum_label,
)
from hepatrial.allocation.batch import (
    minimisation_assignments,
    permuted_block_assignments,
    simple_assignments,
)
from hepatrial.allocation.bounds import minimisation_imbalance_bound
from hepatrial.allocation.factors import factor_levels
from hepatrial.allocation.results import Assignment, PriorAssignment, ReplayReport

__all__ = [
    "AllocationTally",
    "Allocator",
    "Assignment",
    "MinimisationAllocator",
    "PermutedBlockAllocator",
    "PriorAssignment",
    "ReplayReport",
    "SimpleAllocator",
    "factor_levels",
    "minimisation_assignments",
    "minimisation_imbalance_bound",
    "new_seed",
    "permuted_block_assignments",
    "simple_assignments",
    "stratum_label",
]
