"""Where Colab's reports come from: Google's published address ranges, as data.

``colab_only`` accepts reports only from these networks. Colab runtimes are Google Cloud virtual
machines and reach the internet from Google-owned addresses; Google publishes all of its prefixes
(those it uses itself and those it lends to Cloud customers) at
``https://www.gstatic.com/ipranges/goog.json``. The default below is a snapshot of that file's
prefixes, transcribed by hand for this release (this server must not fetch anything at run time).

It is a wide net on purpose: any Google Cloud machine passes, not only Colab, because Colab has no
ranges of its own. Google changes the file now and then, so an operator can replace the default
(``--colab-networks`` or ``NOTEBOOK_ERROR_REPORTER_COLAB_NETWORKS``): a comma- or space-separated
list of CIDRs, or ``@/path/to/goog.json`` (Google's JSON format) or ``@/path/to/list.txt`` (one
CIDR a line, ``#`` comments).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Iterable, List, Tuple, Union

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# fmt: off
GOOGLE_PREFIXES: Tuple[str, ...] = (
    "8.8.4.0/24", "8.8.8.0/24", "8.34.208.0/20", "8.35.192.0/20", "23.236.48.0/20", "23.251.128.0/19",
    "34.0.0.0/15", "34.2.0.0/16", "34.3.0.0/23", "34.3.3.0/24", "34.3.4.0/24", "34.3.8.0/21",
    "34.3.16.0/20", "34.3.32.0/19", "34.3.64.0/18", "34.4.0.0/14", "34.8.0.0/13", "34.16.0.0/12",
    "34.32.0.0/11", "34.64.0.0/10", "34.128.0.0/10", "35.184.0.0/13", "35.192.0.0/14", "35.196.0.0/15",
    "35.198.0.0/16", "35.199.0.0/17", "35.199.128.0/18", "35.200.0.0/13", "35.208.0.0/12",
    "35.224.0.0/12", "35.240.0.0/13", "64.15.112.0/20", "64.233.160.0/19", "66.102.0.0/20",
    "66.249.64.0/19", "70.32.128.0/19", "72.14.192.0/18", "74.125.0.0/16", "104.154.0.0/15",
    "104.196.0.0/14", "104.237.160.0/19", "107.167.160.0/19", "107.178.192.0/18", "108.59.80.0/20",
    "108.170.192.0/18", "108.177.0.0/17", "130.211.0.0/16", "136.124.0.0/15", "142.250.0.0/15",
    "146.148.0.0/17", "162.216.148.0/22", "162.222.176.0/21", "172.110.32.0/21", "172.217.0.0/16",
    "172.253.0.0/16", "173.194.0.0/16", "173.255.112.0/20", "192.158.28.0/22", "192.178.0.0/15",
    "193.186.4.0/24", "199.36.154.0/23", "199.36.156.0/24", "199.192.112.0/22", "199.223.232.0/21",
    "207.223.160.0/20", "208.65.152.0/22", "208.68.108.0/22", "208.81.188.0/22", "208.117.224.0/19",
    "209.85.128.0/17", "216.58.192.0/19", "216.73.80.0/20", "216.239.32.0/19",
    "2001:4860::/32", "2404:6800::/32", "2404:f340::/32", "2600:1900::/28", "2606:73c0::/32",
    "2607:f8b0::/32", "2620:11a:a000::/40", "2620:120:e000::/40", "2800:3f0::/32", "2a00:1450::/32",
    "2c0f:fb50::/32",
)
# fmt: on


def parse_networks(values: Iterable[str]) -> Tuple[IPNetwork, ...]:
    """CIDR strings to networks; a bad one raises ValueError naming it (a typo must not open the gate)."""
    networks: List[IPNetwork] = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError as error:
            raise ValueError(f"not a network in CIDR notation: {text!r}") from error
    return tuple(networks)


def read_prefix_file(path: str) -> Tuple[str, ...]:
    """Prefixes from Google's ``goog.json``/``cloud.json`` format, or from a plain list (one a line).

    A file that cannot be read or is not in either format raises ValueError naming the file.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a text file") from None
    if path.endswith(".json"):
        return _json_prefixes(path, text)
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(line for line in lines if line)


def _json_prefixes(path: str, text: str) -> Tuple[str, ...]:
    """The prefixes of a ``{"prefixes": [{"ipv4Prefix": ...}, {"ipv6Prefix": ...}]}`` document."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ValueError(f"{path} is not JSON: {error}") from None
    entries = data.get("prefixes") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ValueError(f'{path} is not in Google\'s format {{"prefixes": [{{"ipv4Prefix": ...}}]}}')
    return tuple(
        entry.get("ipv4Prefix") or entry.get("ipv6Prefix")
        for entry in entries
        if entry.get("ipv4Prefix") or entry.get("ipv6Prefix")
    )


def split_prefixes(value: str) -> Tuple[str, ...]:
    """A setting's value: ``@path`` reads a file, anything else is a comma/space-separated list."""
    value = value.strip()
    if value.startswith("@"):
        return read_prefix_file(value[1:])
    return tuple(part for part in value.replace(",", " ").split() if part)
