"""The worker's receive window: messages received and not yet written and acked, bounded by the worker itself.

MQTT v5's Receive Maximum asks the broker to stop sending once that many QoS 1 messages are unacked, and the worker
announces it (``receive_maximum``). The broker does not always keep to it: Mosquitto 2.0.11 (Debian bookworm's), when
a PUBACK acknowledges the oldest of its in-flight messages, moves up to Receive Maximum *more* queued messages in
flight (it counts the acked message's place in its in-flight list, not the list's length), so a worker draining a
backlog of 40,000 messages with a window of 4,000 held 35,000 of them in memory (docs/performance.md); over MQTT
3.1.1 there is no Receive Maximum at all, only the broker's ``max_inflight_messages`` (0: unlimited).

So the worker bounds its own window: ``take`` counts a message in when it is handed to the writer, ``release``
counts a batch out once it is written and acked (or left for redelivery), and the network thread stops reading
PUBLISH packets while the window is ``full`` (``BufferedClient``): what the broker sends meanwhile waits in the
socket's buffers and TCP's flow control holds back the rest, in the broker's own session queue. Nothing is lost and
nothing is acked early: a message is only ever read late.
"""

from __future__ import annotations

import threading


class ReceiveWindow:
    """A counter of messages held (received, not yet written and acked) and its bound, ``limit``.

    ``take`` never blocks (the message is already received: it must be kept); the reader asks ``full`` before
    reading the next message and waits with ``wait_open``. ``peak`` is the most ever held at once."""

    def __init__(self, limit: int | None = None) -> None:
        """``limit`` None: no bound (``full`` is never true), for callers that read nothing from a socket."""
        self.limit = limit
        self._held = 0
        self._peak = 0
        self._changed = threading.Condition(threading.Lock())

    @property
    def held(self) -> int:
        return self._held

    @property
    def peak(self) -> int:
        return self._peak

    @property
    def full(self) -> bool:
        return self.limit is not None and self._held >= self.limit

    def take(self) -> None:
        with self._changed:
            self._held += 1
            self._peak = max(self._peak, self._held)

    def release(self, count: int) -> None:
        with self._changed:
            self._held -= count
            self._changed.notify_all()

    def wait_open(self, timeout: float) -> bool:
        """Until the window has room for one more message, at most ``timeout`` seconds; True if it has."""
        with self._changed:
            return self._changed.wait_for(lambda: not self.full, timeout)
