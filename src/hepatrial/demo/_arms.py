"""The arm of each reconstructed participant, at the published arm sizes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def arms_at_published_sizes(
    arms: Sequence[str] | None, seed: int, sizes: Sequence[tuple[str, int]]
) -> np.ndarray:
    """The arm of each candidate: ``arms`` as given (checked) or a seeded permutation.

    ``sizes`` lists each arm with its published number of participants, in protocol order.
    """
    if arms is None:
        pool = np.array([arm for arm, n in sizes for _ in range(n)])
        return np.asarray(np.random.default_rng([seed, 1]).permutation(pool))
    array = np.asarray(list(arms))
    got = tuple(int(np.sum(array == arm)) for arm, _ in sizes)
    wanted = tuple(n for _, n in sizes)
    if array.size != sum(wanted) or got != wanted:
        allocation = " and ".join(f"{n} to {arm!r}" for arm, n in sizes)
        raise ValueError(
            f"arms must allocate {allocation} (the published arm sizes); got {got} of {array.size}"
        )
    return array
