"""Which URLs the browser may load: allow and block lists, no private networks by default.

Checked for every request the browser makes (pages, redirects, frames, scripts, fetches)
and for downloads, not only for the URL the model asks for: a public page must not be
able to redirect or embed its way to a private address or a cloud-metadata endpoint.
Hostnames are resolved (once per host, off the event loop) so a name that points at a
private address is caught too.
"""

from __future__ import annotations

import asyncio
import fnmatch
import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from specialists.web_surfer.settings import UrlPolicySettings

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud instance-metadata endpoints: blocked even where the address itself looks public.
METADATA_HOSTS = frozenset(
    {
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "168.63.129.16",
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
RESOLVE_SECONDS = 3.0


@dataclass(frozen=True)
class HostRule:
    """One allow/block entry: a host glob (`*.example.org`) or an address/network."""

    text: str
    network: Network | None

    @staticmethod
    def parse(text: str) -> HostRule:
        entry = normalise_host(text)
        try:
            return HostRule(entry, ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            return HostRule(entry, None)

    def matches(self, host: str, addresses: tuple[IP, ...]) -> bool:
        if self.network is not None:
            return any(a in self.network for a in addresses if a.version == self.network.version)
        return fnmatch.fnmatchcase(host, self.text)


def normalise_host(host: str) -> str:
    """The form rules are matched against: lower case, without the trailing dot(s) of an
    absolute name (`metadata.google.internal.` and `127.0.0.1.` are the same hosts)."""
    return host.strip().lower().rstrip(".")


def _address(host: str) -> IP | None:
    host = normalise_host(host)
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_private(ip: IP) -> bool:
    return not ip.is_global or ip.is_multicast


@dataclass
class UrlPolicy:
    allow: tuple[HostRule, ...] = ()
    block: tuple[HostRule, ...] = ()
    allow_private: tuple[HostRule, ...] = ()
    file_roots: tuple[Path, ...] = ()
    _resolved: dict[str, tuple[IP, ...]] = field(default_factory=dict, repr=False)

    @staticmethod
    def from_settings(settings: UrlPolicySettings) -> UrlPolicy:
        return UrlPolicy(
            allow=tuple(HostRule.parse(e) for e in settings.allow),
            block=tuple(HostRule.parse(e) for e in settings.block),
            allow_private=tuple(HostRule.parse(e) for e in settings.allow_private),
            file_roots=tuple(Path(r).expanduser().resolve() for r in settings.file_roots),
        )

    def allow_files_under(self, folders: tuple[Path, ...]) -> None:
        """Add file roots besides the configured ones (the folder of a local search index)."""
        new = tuple(f.resolve() for f in folders if f.resolve() not in self.file_roots)
        self.file_roots = (*self.file_roots, *new)

    async def check(self, url: str) -> str | None:
        """Why `url` may not be loaded, or None if it may."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if url in ("about:blank", "about:srcdoc") or scheme in ("data", "blob"):
            return None
        if scheme == "file":
            return self._check_file(unquote(parts.path))
        if scheme not in ("http", "https"):
            return f"{scheme or 'this'}: URLs are not allowed; use http(s) URLs"
        host = normalise_host(parts.hostname or "")
        if not host:
            return f"{url} has no host"
        return self.check_host(host, await self._addresses(host))

    def check_host(self, host: str, addresses: tuple[IP, ...]) -> str | None:
        host = normalise_host(host)
        if any(rule.matches(host, addresses) for rule in self.block):
            return f"{host} is on the block list"
        if self.allow and not any(rule.matches(host, addresses) for rule in self.allow):
            return f"{host} is not on the allow list ({', '.join(r.text for r in self.allow)})"
        explicitly = any(rule.matches(host, addresses) for rule in self.allow_private)
        if explicitly:
            return None
        if host in METADATA_HOSTS or any(str(a) in METADATA_HOSTS for a in addresses):
            return f"{host} is a cloud-metadata endpoint; blocked unless listed in url_policy.allow_private"
        private = [a for a in addresses if _is_private(a)]
        if private or host == "localhost" or host.endswith(".localhost"):
            shown = private[0] if private else "loopback"
            return (
                f"{host} is a private address ({shown}); blocked unless listed in "
                "url_policy.allow_private"
            )
        return None

    def _check_file(self, path: str) -> str | None:
        if not self.file_roots:
            return "file:// URLs are not allowed (no url_policy.file_roots configured)"
        try:
            target = Path(path).resolve()
        except (OSError, RuntimeError) as exc:
            return f"file {path} cannot be resolved: {exc}"
        if any(target.is_relative_to(root) for root in self.file_roots):
            return None
        roots = ", ".join(str(r) for r in self.file_roots)
        return f"{target} is outside the allowed file roots ({roots})"

    async def address_for(self, host: str) -> str:
        """Where to connect for `host`: the address the policy checked, if it has one."""
        found = sorted(await self._addresses(host), key=lambda a: a.version)  # IPv4 first
        return str(found[0]) if found else host

    async def _addresses(self, host: str) -> tuple[IP, ...]:
        host = normalise_host(host)
        literal = _address(host)
        if literal is not None:
            return (literal,)
        if host in self._resolved:
            return self._resolved[host]
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_SECONDS):
                infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError):
            infos = []  # unresolvable: the browser cannot reach it either
        found = tuple(a for a in (_address(str(info[4][0])) for info in infos) if a is not None)
        self._resolved[host] = found
        return found
