"""The address guard for feed URLs that came from chat (untrusted): public http(s) hosts only.

Three layers, each enough on its own for the cases it covers:

1. ``check_url_syntax`` (pure): http(s) only, a host, no credentials, no numeric tricks
   (``2130706433``, ``0x7f.1``, ``127.1``, ``0177.0.0.1``: any host whose last label is a number is
   read as an IPv4 address the way browsers and ``inet_aton`` do, and refused unless it is a
   canonical dotted quad that passes the address check), IP literals checked against the policy.
2. ``GuardedResolver``: an ``aiohttp.abc.AbstractResolver`` that resolves a name, refuses it when
   ANY answer is not public (a name with one public and one private answer is refused), and returns
   exactly the vetted answers. The connector that uses it connects only to what was checked, so DNS
   cannot change between the check and the connect (no rebinding window).
3. ``Fetcher`` (fetch.py) follows redirects itself for untrusted URLs and runs 1 on every hop;
   2 runs on every new connection. An operator's (trusted) feed may live on a private address,
   but once one of its hops was public (``NetGuard.is_public``), the rest of the redirect chain
   is fetched as untrusted: a public server cannot redirect the bot into the private network.

"Public" means: not loopback, private (RFC 1918), CGNAT 100.64/10, link-local (incl. the
169.254.169.254 metadata address), unspecified, multicast, broadcast, documentation, benchmarking
or reserved; for IPv6 also ULA fc00::/7, link-local fe80::/10, site-local, discard, the IETF
2001::/23 block (Teredo included), IPv4-compatible ::/96, local-use NAT64 64:ff9b:1::/48, and the
v4 address embedded in IPv4-mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
forms, which is checked like any v4 address. An operator may allow chosen networks
(``allow_networks``, e.g. an intranet feed server); that is the only way around the policy.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiohttp import TCPConnector
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.domain.errors import UnsafeURL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_V4_BLOCKED: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "an unspecified/'this network' address"),
    ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a carrier-grade NAT address"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local (cloud metadata) address"),
    ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "an IETF protocol address"),
    ("192.0.2.0/24", "a documentation address"),
    ("192.88.99.0/24", "a 6to4 relay address"),
    ("192.168.0.0/16", "a private address"),
    ("198.18.0.0/15", "a benchmarking address"),
    ("198.51.100.0/24", "a documentation address"),
    ("203.0.113.0/24", "a documentation address"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved or broadcast address"),
)
_V6_BLOCKED: tuple[tuple[str, str], ...] = (
    ("::/128", "an unspecified address"),
    ("::1/128", "a loopback address"),
    ("::/96", "an IPv4-compatible address"),
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ("100::/64", "a discard address"),
    ("2001::/23", "an IETF protocol address (Teredo included)"),
    ("2001:db8::/32", "a documentation address"),
    ("fc00::/7", "a unique-local (private) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address"),
    ("ff00::/8", "a multicast address"),
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOSTNAME = re.compile(r"^(?=.{1,253}\.?$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                       r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def _networks(table: Sequence[tuple[str, str]]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), why) for net, why in table)


_BLOCKED = _networks(_V4_BLOCKED) + _networks(_V6_BLOCKED)


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_problem(ip: IPAddress, allow: Sequence[IPNetwork] = ()) -> str | None:
    """Why ``ip`` may not be fetched from for an untrusted URL, or None when it is public."""
    if any(ip.version == net.version and ip in net for net in allow):
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            return "a scoped (link-local) address"
        inner = _embedded_v4(ip)
        if inner is not None:
            why = address_problem(inner, allow)
            return f"{why} wrapped in IPv6 ({ip})" if why else None
    for net, why in _BLOCKED:
        if ip.version == net.version and ip in net:
            return why
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return "a non-public address"
    return None


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _host_problem(host: str, allow: Sequence[IPNetwork]) -> str | None:
    """Syntax-level check of a URL host (already IDNA-encoded and lower-cased by yarl)."""
    literal = _parse_ip(host.strip("[]"))
    if literal is not None:
        why = address_problem(literal, allow)
        return f"it points to {why}" if why else None
    bare = host.rstrip(".")
    if "%" in host or not _HOSTNAME.match(host):
        return "its host name has characters a host name cannot have"
    if _NUMERIC_LABEL.match(bare.rsplit(".", 1)[-1]):
        return "its host is a number in a non-standard form (write a normal host name)"
    if bare in _LOCAL_NAMES or bare.endswith(".localhost"):
        return "it points to this machine (localhost)"
    return None


def check_url_syntax(url: str, *, allow_networks: Sequence[IPNetwork] = ()) -> str:
    """Return ``url`` (stripped) if its form is acceptable for an untrusted feed; else UnsafeURL.

    No DNS here: a host name passes if it looks like one; ``vet_url`` and the ``GuardedResolver``
    check where it resolves. The message is written for the chat user who typed the URL.
    """
    text = url.strip()
    try:
        parsed = URL(text)
    except (ValueError, TypeError) as exc:
        raise UnsafeURL(f"That is not a valid URL ({exc}).", url=text) from None
    if parsed.scheme not in ("http", "https"):
        raise UnsafeURL("Only http:// and https:// feed URLs can be added.", url=text)
    if not parsed.raw_host:
        raise UnsafeURL("That URL has no host name.", url=text)
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise UnsafeURL("Feed URLs with a user name or password cannot be added.", url=text)
    why = _host_problem(parsed.raw_host, allow_networks)
    if why:
        raise UnsafeURL(f"That feed URL cannot be added: {why}.", url=text)
    return text


def _result_ip(result: ResolveResult) -> IPAddress | None:
    """The answer's address; None for scoped (``fe80::1%eth0``) or unparsable answers."""
    return None if "%" in result["host"] else _parse_ip(result["host"])


class GuardedResolver(AbstractResolver):
    """Resolves through ``inner`` and returns only vetted answers; refuses mixed or non-public ones.

    Raises UnsafeURL (not an OSError, so aiohttp passes it through unchanged) when the name has
    no answers or any answer is not public. Used as the resolver of the untrusted-fetch connector,
    so the addresses checked are exactly the addresses connected to.
    """

    def __init__(self, inner: AbstractResolver | None = None,
                 allow_networks: Sequence[IPNetwork] = ()) -> None:
        self._inner = inner
        self._allow = tuple(allow_networks)

    def _resolver(self) -> AbstractResolver:
        if self._inner is None:
            from aiohttp.resolver import ThreadedResolver

            self._inner = ThreadedResolver()
        return self._inner

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        try:
            results = await self._resolver().resolve(host, port, family)
        except OSError as exc:
            raise UnsafeURL(f"The host {host} could not be resolved ({exc}).", url=host) from None
        return _vet_results(host, results, self._allow)

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()


def _vet_results(host: str, results: Iterable[ResolveResult],
                 allow: Sequence[IPNetwork]) -> list[ResolveResult]:
    vetted = list(results)
    if not vetted:
        raise UnsafeURL(f"The host {host} has no addresses.", url=host)
    for result in vetted:
        ip = _result_ip(result)
        why = "an address that cannot be checked" if ip is None else address_problem(ip, allow)
        if why:
            raise UnsafeURL(f"That feed URL cannot be used: {host} resolves to {why}.", url=host)
    return vetted


@dataclass(frozen=True)
class NetGuard:
    """Policy + resolver for untrusted fetches. ``resolver`` is the real DNS (default: the OS's)."""

    resolver: AbstractResolver | None = None
    allow_networks: tuple[IPNetwork, ...] = ()

    def check_syntax(self, url: str) -> str:
        return check_url_syntax(url, allow_networks=self.allow_networks)

    def guarded_resolver(self) -> GuardedResolver:
        return GuardedResolver(self.resolver, self.allow_networks)

    def connector(self, *, limit_per_host: int = 2) -> TCPConnector:
        """A connector that can only reach vetted addresses (call inside a running loop)."""
        return TCPConnector(resolver=self.guarded_resolver(), use_dns_cache=False,
                            limit_per_host=limit_per_host, happy_eyeballs_delay=None)

    async def vet(self, url: str) -> str:
        return await vet_url(url, resolver=self.resolver, allow_networks=self.allow_networks)

    async def is_public(self, url: str) -> bool:
        """Does ``url``'s host count as public (every address it resolves to is public or in
        ``allow_networks``)? For an operator's feed that redirects: once a hop was public, the
        rest of the chain is fetched as untrusted. A host that cannot be resolved counts as
        public (the safe side: the next hops are checked)."""
        try:
            host = URL(url).raw_host or ""
        except (ValueError, TypeError):
            return True
        literal = _parse_ip(host.strip("[]"))
        if literal is not None:
            return address_problem(literal, self.allow_networks) is None
        if _host_problem(host, self.allow_networks) is not None:
            return False  # localhost, numeric forms: this machine or a private network
        try:
            results = await self.guarded_resolver()._resolver().resolve(host, 0, socket.AF_UNSPEC)
        except OSError:
            return True
        ips = [_result_ip(r) for r in results]
        return all(ip is None or address_problem(ip, self.allow_networks) is None for ip in ips)


async def vet_url(url: str, resolver: AbstractResolver | None = None, *,
                  allow_networks: Sequence[IPNetwork] = ()) -> str:
    """Check ``url`` fully (syntax + every DNS answer) for the chat layer; returns it or UnsafeURL.

    A passing check is advice for the user's reply only: the fetch re-checks at connect time.
    """
    text = check_url_syntax(url, allow_networks=allow_networks)
    host = URL(text).raw_host or ""
    if _parse_ip(host.strip("[]")) is not None:
        return text
    await GuardedResolver(resolver, allow_networks).resolve(host, 0, socket.AF_UNSPEC)
    return text
