"""The limits of one fetch (:class:`FetchPolicy`) and the IP address types they use.

Kept apart because every stage of the fetcher reads the policy (address vetting its
trusted networks and ports, the transport its TLS context, user agent and size cap)
while the policy itself depends on none of them.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


# --- policy ---------------------------------------------------------------------------

# Attribute of FetchPolicy -> key in settings.PROCESSING.
_SETTING_KEYS = {
    "timeout": "FETCH_TIMEOUT",
    "max_bytes": "FETCH_MAX_BYTES",
    "max_redirects": "FETCH_MAX_REDIRECTS",
    "allowed_networks": "FETCH_ALLOWED_NETWORKS",
    "allowed_ports": "FETCH_ALLOWED_PORTS",
    "user_agent": "FETCH_USER_AGENT",
}


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch; the defaults are the platform's, ``from_settings`` applies
    the deployment's ``PROCESSING`` overrides, tests build their own."""

    timeout: float = 5.0
    max_bytes: int = 2 * 1024 * 1024
    max_redirects: int = 3
    allowed_networks: tuple[str, ...] = ()
    allowed_ports: tuple[int, ...] | None = (80, 443)
    user_agent: str = "media-platform-fetcher/0.1"
    # Not a setting: a context trusting a private CA (tests, internal imports).
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    networks: tuple[IPNetwork, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.timeout <= 0 or self.max_bytes <= 0 or self.max_redirects < 0:
            raise ValueError("timeout and max_bytes must be positive, max_redirects >= 0")
        if any(c in self.user_agent for c in "\r\n"):
            raise ValueError("user_agent must be one line")
        networks = tuple(ipaddress.ip_network(n, strict=False) for n in self.allowed_networks)
        object.__setattr__(self, "networks", networks)

    @classmethod
    def from_settings(cls, **overrides: Any) -> FetchPolicy:
        """The policy configured in ``PROCESSING`` (``FETCH_*`` keys of
        apps/processing/conf.py), read now so that ``override_settings`` applies; keyword
        arguments win."""
        from apps.processing.conf import processing_settings

        values: dict[str, Any] = {attr: getattr(processing_settings, key)
                                  for attr, key in _SETTING_KEYS.items()}
        values.update(overrides)
        for attr in ("allowed_networks", "allowed_ports"):
            value = values.get(attr)
            if isinstance(value, str | int):  # one network or port given bare
                values[attr] = (value,)
            elif value is not None:
                values[attr] = tuple(value)
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ImproperlyConfigured(f"PROCESSING FETCH_* settings: {exc}") from exc

    def trusts(self, ip: IPAddress) -> bool:
        """Whether the operator allowed this (otherwise refused) address explicitly."""
        return any(ip.version == net.version and ip in net for net in self.networks)
