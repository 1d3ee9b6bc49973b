"""The SSRF guard: which outbound targets are refused, and how the allow-list lifts it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from runtime.net.errors import InvalidUrl, ResolveFailed, UnsafeTarget
from runtime.net.guard import OutboundPolicy, check_url, parse_ip_literal, refusal_reason


def fixed(*addresses: str):  # type: ignore[no-untyped-def]
    """A resolver that answers ``addresses`` for every name (no DNS is used)."""

    def resolve(host: str, port: int) -> Sequence[str]:
        return addresses

    return resolve


PUBLIC = OutboundPolicy(resolver=fixed("93.184.216.34"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.9.9.9:8080/",
        "http://[::1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/",
        "http://172.16.0.1/",
        "http://172.31.255.255/",
        "http://192.168.1.1/",
        "http://0.0.0.0/",
        "http://[::]/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[ff02::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://0x7f.0.0.1/",
        "http://127.1/",
        "http://017700000001/",
        "http://3232235777/",
    ],
)
def test_private_and_special_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_url(url, PUBLIC)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://example.com:70/_stats",
        "ftp://example.com/",
        "dict://example.com:11211/",
        "javascript:alert(1)",
        "//example.com/hook",
        "example.com/hook",
    ],
)
def test_non_http_schemes_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_url(url, PUBLIC)


def test_a_name_resolving_to_loopback_is_refused() -> None:
    # "localhost" goes through the system resolver: it answers 127.0.0.1 and/or ::1.
    with pytest.raises(UnsafeTarget, match="loopback"):
        check_url("http://localhost:8000/hook", OutboundPolicy())


def test_a_name_with_any_private_address_is_refused() -> None:
    policy = OutboundPolicy(resolver=fixed("93.184.216.34", "10.1.2.3"))
    with pytest.raises(UnsafeTarget, match="private"):
        check_url("https://hooks.example.com/x", policy)


def test_credentials_in_the_url_are_refused() -> None:
    with pytest.raises(UnsafeTarget):
        check_url("https://user:pw@hooks.example.com/", PUBLIC)


def test_bad_port_is_an_invalid_url() -> None:
    with pytest.raises(InvalidUrl):
        check_url("http://example.com:99999/", PUBLIC)


def test_unresolvable_host_is_retryable() -> None:
    def fail(host: str, port: int) -> Sequence[str]:
        raise ResolveFailed("no such host")

    with pytest.raises(ResolveFailed) as info:
        check_url("https://nowhere.example/", OutboundPolicy(resolver=fail))
    assert info.value.retryable


def test_public_target_is_pinned_to_the_checked_address() -> None:
    target = check_url("https://Hooks.Example.com:8443/in?x=1", PUBLIC)
    assert target.host == "hooks.example.com"
    assert target.port == 8443
    assert target.request_path == "/in?x=1"
    assert target.addresses == ("93.184.216.34",)
    assert target.host_header == "hooks.example.com:8443"
    assert not target.allowlisted


@pytest.mark.parametrize(
    ("entry", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:9000/"),
        ("::1", "http://[::1]:9000/"),
        ("10.0.0.0/8", "http://10.9.8.7/"),
        ("hooks.internal", "http://hooks.internal/"),
        ("*.corp.example", "http://erp.corp.example/"),
    ],
)
def test_allow_list_lifts_the_refusal(entry: str, url: str) -> None:
    policy = OutboundPolicy(allowlist=(entry,), resolver=fixed("10.0.0.9"))
    assert check_url(url, policy).allowlisted


def test_allow_list_does_not_lift_the_scheme_rule() -> None:
    policy = OutboundPolicy(allowlist=("127.0.0.1",))
    with pytest.raises(UnsafeTarget):
        check_url("gopher://127.0.0.1/", policy)


def test_wildcard_does_not_match_the_bare_domain_or_lookalikes() -> None:
    policy = OutboundPolicy(allowlist=("*.corp.example",), resolver=fixed("10.0.0.9"))
    for url in ("http://corp.example/", "http://evilcorp.example/", "http://corp.example.evil/"):
        with pytest.raises(UnsafeTarget):
            check_url(url, policy)


def test_allowed_address_does_not_allow_its_neighbours() -> None:
    policy = OutboundPolicy(allowlist=("127.0.0.1",))
    with pytest.raises(UnsafeTarget):
        check_url("http://127.0.0.2/", policy)


def test_legacy_ipv4_forms_parse_like_inet_aton() -> None:
    assert str(parse_ip_literal("2130706433")) == "127.0.0.1"
    assert str(parse_ip_literal("0177.0.0.1")) == "127.0.0.1"
    assert str(parse_ip_literal("0x7f.1")) == "127.0.0.1"
    assert parse_ip_literal("example.com") is None
    assert parse_ip_literal("deadbeef") is None


def test_refusal_reasons_name_the_range() -> None:
    import ipaddress

    assert refusal_reason(ipaddress.ip_address("169.254.169.254")) == "link_local"
    assert refusal_reason(ipaddress.ip_address("::ffff:127.0.0.1")) == "loopback (embedded in IPv6)"
    assert refusal_reason(ipaddress.ip_address("8.8.8.8")) is None
    assert refusal_reason(ipaddress.ip_address("2606:4700::1111")) is None
