"""What may be sent to a device: hosts and pools."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.miner_hub.protocol.models import PoolConfig
from custom_components.miner_hub.protocol.validation import (
    InvalidPool,
    check_pool,
    is_host,
)


@pytest.mark.parametrize(
    "host",
    ["192.168.1.50", "10.0.0.1", "fe80::1", "::1", "miner", "garage-m30.local",
     "miner.lan.", "a" * 63 + ".example"],
)  # fmt: skip
def test_hosts(host: str) -> None:
    assert is_host(host)


@pytest.mark.parametrize(
    "host",
    ["", " ", "http://192.168.1.50", "192.168.1.50:4028", "192.168.1.50/", "-miner",
     "miner-", "mi ner", "miner..lan", "a" * 64, "x." * 127 + "x", "min\ner",
     "[::1]", "ünïcode"],
)  # fmt: skip
def test_not_hosts(host: str) -> None:
    assert not is_host(host)


@pytest.mark.parametrize(
    "url",
    ["stratum+tcp://btc.viabtc.io:3333", "stratum+ssl://btc.f2pool.com:1314",
     "STRATUM+TCP://Pool.Example.com:443", "stratum2+tcp://pool.example:3336/",
     "pool.example.com:3333", "stratum+tcp://192.168.1.2:3333",
     "stratum+tcp://[2001:db8::1]:3333"],
)  # fmt: skip
def test_pool_urls(url: str) -> None:
    assert PoolConfig(url, "account.worker").url == url


@pytest.mark.parametrize(
    "url",
    ["", "x" * 257, "pool.example.com", "stratum+tcp://pool.example.com",
     "http://pool.example.com:3333", "stratum+tcp://pool example.com:3333",
     "stratum+tcp://pool.example.com:0", "stratum+tcp://pool.example.com:70000",
     "stratum+tcp://pool.example.com:3333/path", "stratum+tcp://:3333",
     "stratum+tcp://[not-ipv6]:3333", "stratum+tcp://pool.example.com:3333\n"],
)  # fmt: skip
def test_bad_pool_urls(url: str) -> None:
    with pytest.raises(InvalidPool, match="pool URL") as caught:
        PoolConfig(url, "account.worker")
    assert caught.value.field == "url"


@pytest.mark.parametrize("worker", ["", "account worker", "acc\nount", "w" * 257])
def test_bad_workers(worker: str) -> None:
    with pytest.raises(InvalidPool) as caught:
        check_pool("stratum+tcp://pool.example:3333", worker, "x")
    assert caught.value.field == "worker"


@pytest.mark.parametrize("password", ["line\nbreak", "nul\x00", "p" * 257])
def test_bad_pool_passwords(password: str) -> None:
    with pytest.raises(InvalidPool) as caught:
        check_pool("stratum+tcp://pool.example:3333", "a.b", password)
    assert caught.value.field == "password"
    assert password not in str(caught.value)  # a password is never echoed


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.text(max_size=20), st.text(max_size=20))
def test_any_text_is_a_bool_or_an_invalid_pool(
    url: str, worker: str, password: str
) -> None:
    assert is_host(url) in (True, False)
    field = None
    try:
        check_pool(url, worker, password)
    except InvalidPool as err:
        field = err.field
    assert field in (None, "url", "worker", "password")
