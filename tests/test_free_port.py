"""The test servers' ports stay outside the kernel's ephemeral range (a restarted server gets its port back)."""

from __future__ import annotations

import socket

from tests.support.services import ephemeral_ports, free_port


def test_free_ports_are_outside_the_ephemeral_range_and_free() -> None:
    ephemeral = ephemeral_ports()
    ports = {free_port() for _ in range(50)}
    assert not any(p in ephemeral for p in ports), sorted(ports)
    for port in list(ports)[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


def test_a_port_held_by_a_listener_is_never_handed_out() -> None:
    held = []
    try:
        for _ in range(20):
            s = socket.socket()
            s.bind(("127.0.0.1", free_port()))
            s.listen()
            held.append(s)
        ports = {s.getsockname()[1] for s in held}
        assert len(ports) == 20
        assert not ports & {free_port() for _ in range(200)}
    finally:
        for s in held:
            s.close()
