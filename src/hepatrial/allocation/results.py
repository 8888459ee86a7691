"""Values exchanged with an allocator: prior assignments in; an assignment or a replay out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd


@dataclass(frozen=True)
class PriorAssignment:
    """An allocation already made in the trial, as the store recorded it.

    Attributes
    ----------
    sequence_number : int
        1-based position in the trial's allocation sequence (all strata together).
    arm : str
        Arm id that was assigned.
    factors : mapping of str to str
        The participant's factor levels at randomization (empty for simple randomization).
    """

    sequence_number: int
    arm: str
    factors: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Assignment:
    """One allocation and how it was reached.

    Attributes
    ----------
    sequence_number : int
        1-based position in the trial's sequence.
    arm : str
        The arm assigned.
    method : str
        ``simple``, ``permuted_blocks`` or ``minimisation``.
    factors : mapping of str to str
        The factor levels used.
    probabilities : mapping of str to float
        The probability each arm had of being assigned, given the history.
    stratum : str or None
        Stratum label (``"meld_band=meld_below_22"``) for permuted blocks.
    stratum_sequence, block_number, block_position, block_size : int or None
        For permuted blocks: 1-based position within the stratum, block index within the
        stratum, position within the block, and the block's size.
    imbalance : mapping of str to float or None
        For minimisation: total weighted imbalance if the participant joined each arm.

    Notes
    -----
    The block fields and the probabilities belong in the sealed allocation log: shown to a
    site, the block position and size would reveal the end of a block and so the next arm.
    What a site may see is :attr:`site_view`.
    """

    sequence_number: int
    arm: str
    method: str
    factors: Mapping[str, str]
    probabilities: Mapping[str, float]
    stratum: str | None = None
    stratum_sequence: int | None = None
    block_number: int | None = None
    block_position: int | None = None
    block_size: int | None = None
    imbalance: Mapping[str, float] | None = None

    @property
    def site_view(self) -> dict[str, int | str]:
        """The only fields a site may be shown: the sequence number and the arm."""
        return {"sequence_number": self.sequence_number, "arm": self.arm}

    @property
    def summary(self) -> pd.DataFrame:
        """One row per arm: assignment probability, imbalance score, whether assigned."""
        arms = list(self.probabilities)
        return pd.DataFrame(
            {
                "arm": arms,
                "probability": [self.probabilities[a] for a in arms],
                "imbalance": [(self.imbalance or {}).get(a, float("nan")) for a in arms],
                "assigned": [a == self.arm for a in arms],
            }
        )

    def __repr__(self) -> str:
        where = (
            f", stratum={self.stratum!r} block {self.block_number}:{self.block_position}"
            if (self.stratum is not None)
            else ""
        )
        return f"Assignment(#{self.sequence_number} -> {self.arm!r} by {self.method}{where})"


@dataclass(frozen=True)
class ReplayReport:
    """Result of recomputing a whole allocation history from the seed.

    ``first_mismatch`` is the sequence number of the first recorded arm that differs from the
    recomputed one (``None`` when every allocation verifies).
    """

    n_checked: int
    first_mismatch: int | None
    recorded_arm: str | None
    expected_arm: str | None
    assignments: tuple[Assignment, ...]

    @property
    def ok(self) -> bool:
        """True when every recorded allocation equals its recomputation."""
        return self.first_mismatch is None

    @property
    def message(self) -> str:
        """A sentence for the audit report."""
        if self.ok:
            return f"all {self.n_checked} allocations verify against the sealed seed"
        return (
            f"allocation #{self.first_mismatch} was recorded as {self.recorded_arm!r} but the "
            f"sealed seed gives {self.expected_arm!r}; the history was altered at or before it"
        )

    @property
    def summary(self) -> pd.DataFrame:
        """One row per recomputed allocation."""
        return pd.DataFrame(
            {
                "sequence_number": [a.sequence_number for a in self.assignments],
                "arm": [a.arm for a in self.assignments],
                "stratum": [a.stratum for a in self.assignments],
            }
        )
