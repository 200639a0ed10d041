"""What ``notebook-error-server`` prints when it starts: where it listens, what to paste in a notebook."""

from __future__ import annotations

import ipaddress
from typing import List, Optional

DEPLOYING = "https://github.com/matteoferla/notebook-error-reporter#deploying-on-the-internet"


def base_url(host: str, port: int, public_base_url: Optional[str]) -> str:
    """The server as people reach it: the configured public URL, else http://HOST:PORT."""
    if public_base_url:
        return public_base_url
    shown = "<this machine's address>" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown and not shown.startswith("<"):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def banner(*, url: str, host: str, database: str, token_note: str) -> List[str]:
    """The start banner's lines."""
    lines = [
        f"notebook-error-server: collecting reports at {url}/",
        f"    API documentation: {url}/docs    dashboard: {url}/",
        f"    database: {database}",
        "In the notebook:",
        f'    ErrorServer(url="{url}", notebook="my-notebook")',
    ]
    if is_loopback(host):
        lines += [
            f"Listening on {host} only: Colab and other machines cannot reach this server.",
            f'    To publish it, see "Deploying on the internet" in the README: {DEPLOYING}',
        ]
    return lines + [token_note]
