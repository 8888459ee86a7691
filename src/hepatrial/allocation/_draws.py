"""Concealed random draws: HMAC-SHA256 of a sealed seed and a public context.

Every draw is ``HMAC-SHA256(seed, "hepatrial-allocation-v1|" + context)``. The context is public
(method, stratum, block index, sequence number); the seed is not. Without the seed the digest,
and hence the next allocation, cannot be computed (HMAC is a pseudo-random function); with the
seed every draw can be recomputed, which is what makes an allocation list re-verifiable.
"""

from __future__ import annotations

import hmac
import secrets

import numpy as np
import numpy.typing as npt

from hepatrial.exceptions import AllocationError

_DOMAIN = b"hepatrial-allocation-v1|"
MIN_SEED_BYTES = 16


def new_seed() -> bytes:
    """A fresh 32-byte seed from the operating system's cryptographic generator."""
    return secrets.token_bytes(32)


def check_seed(seed: bytes) -> bytes:
    """Return ``seed`` or raise :class:`AllocationError` if it is not at least 16 bytes."""
    if not isinstance(seed, bytes | bytearray) or len(seed) < MIN_SEED_BYTES:
        shown = f"{len(seed)} bytes" if isinstance(seed, bytes | bytearray) else type(seed).__name__
        raise AllocationError(
            f"seed must be at least {MIN_SEED_BYTES} random bytes; got {shown}. "
            "Create one with hepatrial.allocation.new_seed()"
        )
    return bytes(seed)


def _digest(seed: bytes, context: str) -> bytes:
    return hmac.digest(seed, _DOMAIN + context.encode("utf-8"), "sha256")


def uniform(seed: bytes, context: str) -> float:
    """One uniform draw in [0, 1) from the first 53 bits of the HMAC digest."""
    return (int.from_bytes(_digest(seed, context)[:8], "big") >> 11) / float(1 << 53)


def uniforms(seed: bytes, context: str, n: int) -> npt.NDArray[np.float64]:
    """``n`` uniform draws in [0, 1): a PCG64 stream keyed by the full 256-bit digest."""
    key = int.from_bytes(_digest(seed, context), "big")
    return np.random.default_rng(key).random(n)
