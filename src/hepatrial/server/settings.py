"""Server settings from the environment (``HEPATRIAL_*``), validated by pydantic-settings.

Insecure choices are refused unless ``HEPATRIAL_DEVELOPMENT=true``: listening on an address
other than the loopback without declaring that TLS is terminated in front
(``HEPATRIAL_BEHIND_TLS=true``), since tokens and records would cross the network in clear.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hepatrial.store import DEFAULT_URL


class Settings(BaseSettings):
    """What the server needs to know; every field is ``HEPATRIAL_<FIELD>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="HEPATRIAL_", extra="ignore")

    db: str = DEFAULT_URL
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    development: bool = False
    behind_tls: bool = False
    idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    absolute_hours: int = Field(default=12, ge=1, le=7 * 24)

    @property
    def idle_timeout(self) -> dt.timedelta:
        """A browser session ends after this long without a request."""
        return dt.timedelta(minutes=self.idle_minutes)

    @property
    def absolute_timeout(self) -> dt.timedelta:
        """A browser session ends this long after sign-in, however active."""
        return dt.timedelta(hours=self.absolute_hours)

    @model_validator(mode="after")
    def _refuse_insecure(self) -> Self:
        if self.development or self.behind_tls or _loopback(self.host):
            return self
        raise ValueError(
            f"host={self.host!r} listens beyond this machine without TLS: terminate TLS in a "
            "proxy in front and set HEPATRIAL_BEHIND_TLS=true (or HEPATRIAL_DEVELOPMENT=true "
            "for a test installation)"
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
