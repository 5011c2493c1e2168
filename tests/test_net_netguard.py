"""The address guard for chat-added feed URLs: syntax, address policy, vetted DNS answers."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.config.settings import parse_networks
from bot.domain.errors import UnsafeURL
from bot.net.netguard import (
    GuardedResolver,
    NetGuard,
    address_problem,
    check_url_syntax,
    vet_url,
)


class FakeDNS(AbstractResolver):
    """DNS with fixed answers; a list of lists answers differently on each call (rebinding)."""

    def __init__(self, answers: dict[str, list[str] | list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.calls.append(host)
        answer = self.answers.get(host)
        if answer is None:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        if answer and isinstance(answer[0], list):
            answer = answer[min(len(self.calls), len(answer)) - 1]  # type: ignore[assignment]
        return [ResolveResult(hostname=host, host=str(ip), port=port,
                              family=socket.AF_INET6 if ":" in str(ip) else socket.AF_INET,
                              proto=0, flags=0) for ip in answer]

    async def close(self) -> None:
        return None


REFUSED_URLS = [
    "http://127.0.0.1/feed", "http://[::1]/", "http://localhost:8080/", "http://feeds.localhost/",
    "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.1/", "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0/", "http://[::]/",
    "http://224.0.0.1/", "http://255.255.255.255/", "http://240.0.0.1/", "http://198.18.0.1/",
    "http://[::ffff:127.0.0.1]/", "http://[::ffff:10.0.0.1]/", "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:c0a8:101::1]/", "http://[fd12:3456::1]/",
    "http://[fe80::1]/", "http://[fe80::1%25eth0]/", "http://[fec0::1]/", "http://[ff02::1]/",
    "http://[::127.0.0.1]/", "http://[2001:db8::1]/", "http://[2001::1]/",
    "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/", "http://127.1/",
    "http://0177.0.0.1/", "http://017700000001/", "http://127.0.0.1.:80/", "http://%31%32%37.0.0.1/",
    "ftp://example.com/feed", "file:///etc/passwd", "javascript:alert(1)", "gopher://x.example/",
    "http:///nohost", "http://user:pw@example.com/", "http://example.com@127.0.0.1/",
    "//example.com/feed", "not a url",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_refused_urls(url: str) -> None:
    with pytest.raises(UnsafeURL) as caught:
        check_url_syntax(url)
    assert str(caught.value)  # a message the chat user can read
    assert "Traceback" not in str(caught.value)


@pytest.mark.parametrize("url", [
    "https://news.example.com/feed.xml", "http://Example.COM:8080/rss?x=1",
    "https://8.8.8.8/feed", "https://[2606:4700:4700::1111]/feed", "http://[64:ff9b::808:808]/",
    "https://bücher.example/feed", "  https://padded.example/feed  ",
])
def test_accepted_urls(url: str) -> None:
    assert check_url_syntax(url) == url.strip()


@pytest.mark.parametrize(("ip", "fragment"), [
    ("127.0.0.1", "loopback"), ("10.9.8.7", "private"), ("100.127.255.254", "carrier-grade"),
    ("169.254.169.254", "metadata"), ("::ffff:192.168.0.1", "wrapped in IPv6"),
    ("64:ff9b::c0a8:1", "wrapped in IPv6"), ("64:ff9b:1::1", "NAT64"),
    ("2002:a00:1::", "wrapped in IPv6"), ("fc00::1", "unique-local"), ("2001:0::1", "Teredo"),
])
def test_address_problem_names_the_reason(ip: str, fragment: str) -> None:
    why = address_problem(ipaddress.ip_address(ip))
    assert why is not None and fragment in why


def test_public_addresses_pass() -> None:
    for ip in ("8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "64:ff9b::5db8:d822"):
        assert address_problem(ipaddress.ip_address(ip)) is None


def test_operator_allow_list_is_the_only_way_around() -> None:
    allow = parse_networks("10.1.2.0/24")
    assert address_problem(ipaddress.ip_address("10.1.2.3"), allow) is None
    assert address_problem(ipaddress.ip_address("10.1.3.3"), allow) is not None
    assert check_url_syntax("http://10.1.2.3/", allow_networks=allow) == "http://10.1.2.3/"


async def test_vet_url_checks_every_dns_answer() -> None:
    dns = FakeDNS({"good.example": ["93.184.216.34", "2606:2800:220:1::1"],
                   "mixed.example": ["93.184.216.34", "10.0.0.5"],
                   "inside.example": ["192.168.1.20"],
                   "v6inside.example": ["::ffff:127.0.0.1"],
                   "empty.example": []})
    assert await vet_url("https://good.example/feed", resolver=dns) == "https://good.example/feed"
    for host in ("mixed.example", "inside.example", "v6inside.example", "empty.example",
                 "missing.example"):
        with pytest.raises(UnsafeURL):
            await vet_url(f"https://{host}/feed", resolver=dns)


async def test_vet_url_skips_dns_for_public_literals() -> None:
    dns = FakeDNS({})
    assert await vet_url("http://8.8.8.8/", resolver=dns) == "http://8.8.8.8/"
    assert dns.calls == []


async def test_guarded_resolver_returns_exactly_the_vetted_answers() -> None:
    dns = FakeDNS({"good.example": ["93.184.216.34"]})
    answers = await GuardedResolver(dns).resolve("good.example", 443)
    assert [(a["host"], a["port"]) for a in answers] == [("93.184.216.34", 443)]


async def test_guarded_resolver_refuses_scoped_answers() -> None:
    dns = FakeDNS({"ll.example": ["fe80::1%eth0"]})
    with pytest.raises(UnsafeURL):
        await GuardedResolver(dns).resolve("ll.example")


async def test_net_guard_vet_uses_its_resolver_and_allow_list() -> None:
    guard = NetGuard(resolver=FakeDNS({"intranet.example": ["10.1.2.3"]}),
                     allow_networks=parse_networks("10.1.2.0/24"))
    assert await guard.vet("http://intranet.example/rss") == "http://intranet.example/rss"
    with pytest.raises(UnsafeURL):
        await NetGuard(resolver=FakeDNS({"intranet.example": ["10.1.2.3"]})).vet(
            "http://intranet.example/rss")
