"""The clamd client against the real clamd started for the suite (EICAR signature)."""

from __future__ import annotations

import pytest

from apps.processing.engines.clamd import ClamdClient, ClamdError, parse_address

# Assembled at run time so that no file in the repository is the EICAR test file.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def test_ping_and_version(clamd_address: str) -> None:
    client = ClamdClient(clamd_address, timeout=5)
    assert client.ping() is True
    assert client.version().startswith("ClamAV")


def test_infected_stream_is_found(clamd_address: str) -> None:
    verdict = ClamdClient(clamd_address).scan_stream([EICAR[:20], EICAR[20:]])
    assert verdict.clean is False
    assert verdict.signature.startswith("Eicar-Test-Signature")


def test_clean_stream_in_many_chunks(clamd_address: str) -> None:
    chunks = (bytes([i % 251]) * 65536 for i in range(64))  # 4 MiB, streamed
    verdict = ClamdClient(clamd_address).scan_stream(chunks)
    assert verdict.clean is True and verdict.signature == ""


def test_unreachable_clamd_raises_connection_error() -> None:
    with pytest.raises(OSError):
        ClamdClient("tcp://127.0.0.1:1", timeout=1).ping()


@pytest.mark.parametrize("address, family_ok", [
    ("tcp://127.0.0.1:3310", ("127.0.0.1", 3310)), ("127.0.0.1:3310", ("127.0.0.1", 3310)),
    ("unix:///run/clamd.sock", "/run/clamd.sock"), ("/run/clamd.sock", "/run/clamd.sock"),
])
def test_parse_address(address: str, family_ok: object) -> None:
    assert parse_address(address)[1] == family_ok


def test_bad_address_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_address("tcp://nohost")
    assert issubclass(ClamdError, Exception)
