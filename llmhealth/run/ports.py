"""Check, before starting anything, that every port the run listens on is free."""

from __future__ import annotations

import socket


class PortInUse(Exception):
    """A port is taken; the text names the setting that chooses it."""


def check_free(host: str, ports: dict[str, tuple[int, str]]) -> None:
    """`ports`: purpose -> (port, how to change it). Raises PortInUse for the first taken one."""
    for purpose, (port, how) in ports.items():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                raise PortInUse(f"port {port} on {host} ({purpose}) is already in use: stop the "
                                f"process using it (`ss -ltnp 'sport = :{port}'`) or choose "
                                f"another with {how}") from None
