"""colab_only: reports only from Google's published networks; X-Forwarded-For only via trusted proxies."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from notebook_error_reporter.serverside.core.colab_ranges import GOOGLE_PREFIXES, parse_networks

from .helpers import make_event

GOOGLE_CLOUD_ADDRESS = "34.125.10.20"  # inside 34.64.0.0/10
ELSEWHERE = "198.51.100.7"  # TEST-NET-2


def test_default_ranges_are_valid_networks_and_cover_google_cloud() -> None:
    networks = parse_networks(GOOGLE_PREFIXES)
    assert len(networks) == len(GOOGLE_PREFIXES) > 50
    assert any(ipaddress.ip_address(GOOGLE_CLOUD_ADDRESS) in n for n in networks)
    assert not any(ipaddress.ip_address(ELSEWHERE) in n for n in networks)
    assert not any(n.is_private for n in networks)


def test_colab_only_accepts_google_and_refuses_others(make_client: Any) -> None:
    google = make_client(colab_only=True, client=(GOOGLE_CLOUD_ADDRESS, 1))
    assert google.post("/api/v1/events", json=make_event()).status_code == 201
    assert google.post("/usages/", json={"notebook": "x"}).status_code == 200
    elsewhere = make_client(colab_only=True, client=(ELSEWHERE, 1))
    refused = elsewhere.post("/api/v1/events", json=make_event())
    assert refused.status_code == 403 and "Colab" in refused.json()["detail"]
    assert elsewhere.post("/api/v1/events/batch", json={"events": [make_event()]}).status_code == 403
    assert elsewhere.post("/usages/", json={"notebook": "x"}).status_code == 403


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(make_client: Any) -> None:
    client = make_client(colab_only=True, client=(ELSEWHERE, 1))
    answer = client.post(
        "/api/v1/events", json=make_event(), headers={"X-Forwarded-For": GOOGLE_CLOUD_ADDRESS}
    )
    assert answer.status_code == 403


@pytest.mark.parametrize(("forwarded", "status"), [(GOOGLE_CLOUD_ADDRESS, 201), (ELSEWHERE, 403)])
def test_behind_a_trusted_proxy_the_forwarded_address_decides(
    make_client: Any, forwarded: str, status: int
) -> None:
    client = make_client(colab_only=True, trusted_proxies=("127.0.0.1/32",), client=("127.0.0.1", 1))
    answer = client.post("/api/v1/events", json=make_event(), headers={"X-Forwarded-For": forwarded})
    assert answer.status_code == status


def test_colab_networks_are_configurable(make_client: Any) -> None:
    client = make_client(colab_only=True, colab_networks=("198.51.100.0/24",), client=(ELSEWHERE, 1))
    assert client.post("/api/v1/events", json=make_event()).status_code == 201
