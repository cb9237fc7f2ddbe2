"""paho's client with a buffered receive path: one ``recv`` for many PUBLISH packets, not four per packet.

paho 2.x reads each packet with one ``recv`` for its command byte, one per byte of its remaining length and one for
its body, and goes back to ``select`` after each packet (``loop_read`` reads one packet unless QoS 2 flows are in
progress). Draining a backlog of visits, that is five system calls and a pass through ``_loop`` per message, a
sizeable share of the worker's network thread (py-spy, docs/performance.md). ``BufferedClient`` keeps paho's packet
parser and handlers as they are and changes two things only:

- ``_sock_recv`` serves the parser from a buffer filled by one ``recv`` of up to ``READ_CHUNK`` bytes; the buffer
  belongs to one socket (a reconnect starts empty: bytes of a dropped connection are never parsed on a new one);
- ``loop_read`` reads packets until the socket has nothing more (``MQTT_ERR_AGAIN``) or ``READ_BURST`` packets were
  handled (so a flood of QoS 0 messages cannot hold back the PUBACKs and pings ``loop_write`` sends in between).
  Bytes left in the buffer at the cap are invisible to ``select``: paho's own wake-up socket pair is poked, so its
  loop comes straight back, and ``loop_misc`` (the end of each pass of paho's loop) reads on from the buffer.

What is read at all is bounded by the worker's receive window (below), whatever the broker sends.
Everything else (TLS, keepalive, the PUBACKs written by ``loop_write`` between bursts) is paho's.

Per message, ``_handle_publish`` decodes a PUBLISH without properties (what the gateways send) without building
paho's property tables, and ``_handle_on_message`` skips paho's topic matcher when no per-topic callback is
registered (it decoded the topic and walked the matcher for every message only to fall back to ``on_message``).

The receive window (``ronde.ingest.window``): with a ``window`` set, ``loop_read`` reads no PUBLISH while the window
is full. It looks at the next packet's first byte (reading one chunk into the buffer if need be): anything else
(PINGRESP, SUBACK, DISCONNECT) is read as before, a PUBLISH waits, in the buffer and the socket, until the writer's
acks open the window again (the network thread waits on the window up to ``HOLD_WAIT_S`` per pass, so it neither
spins nor stops writing PUBACKs and pings). Meanwhile the unread PUBLISH counts as the broker's sign of life for
paho's keepalive: the silence is the worker's own, and a connection that died meanwhile is found once reading
resumes.

And one addition on the way out: ``ack_many`` queues the PUBACKs of a whole batch as one write. ``ack`` queues one
packet per message, each with a write to the wake-up socket pair and, in the network thread, one ``send`` per
PUBACK; after a batch of 1,000 that was 2,000 system calls. The bytes are those ``ack`` would send (MQTT v5 lets a
successful PUBACK without properties end after the packet id, as paho's own does; 3.1.1's is the same 4 bytes).
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ronde.ingest.window import ReceiveWindow

READ_CHUNK = 65536
READ_BURST = 256
HOLD_WAIT_S = 0.05  # the network thread's wait on a full window, per pass of paho's loop
_PUBACK = struct.Struct("!BBH")  # fixed header (PUBACK, remaining length 2) and packet id: success, no properties


class BufferedClient(mqtt.Client):
    """``mqtt.Client`` reading the socket in chunks (see the module's docstring)."""

    _rbuf: bytes = b""
    _rpos: int = 0
    _rsock: object = None
    window: ReceiveWindow | None = None  # set by the source: no PUBLISH is read while it is full

    def _sock_recv(self, bufsize: int) -> bytes:
        if not self.buffered():
            data = super()._sock_recv(READ_CHUNK)  # BlockingIOError, OSError and b"" (closed) as paho expects
            if len(data) <= bufsize:
                self._rbuf, self._rpos, self._rsock = b"", 0, self._sock
                return data
            self._rbuf, self._rpos, self._rsock = data, 0, self._sock
        start = self._rpos
        end = min(start + bufsize, len(self._rbuf))
        self._rpos = end
        return self._rbuf[start:end]

    def buffered(self) -> int:
        """Bytes received from the current socket and not yet parsed (a new connection's buffer starts empty:
        bytes of a dropped connection are never parsed on a new one)."""
        return len(self._rbuf) - self._rpos if self._rsock is self._sock else 0

    def _holding_back(self) -> bool:
        """True while the window is full and the next packet is a PUBLISH, after waiting ``HOLD_WAIT_S`` for the
        window to open. Mid-packet, the packet is finished first (its bytes are already here)."""
        window = self.window
        if window is None or not window.full or self._in_packet["command"]:
            return False
        if not self.buffered():
            try:
                data = super()._sock_recv(READ_CHUNK)
            except BlockingIOError:
                return True  # nothing has come: nothing to read anyway
            except OSError:
                return False  # paho's read meets the connection's end and handles it
            if not data:
                return False
            self._rbuf, self._rpos, self._rsock = data, 0, self._sock
        if self._rbuf[self._rpos] & 0xF0 != mqtt.PUBLISH or window.wait_open(HOLD_WAIT_S):
            return False
        with self._msgtime_mutex:  # the broker spoke (the PUBLISH we leave unread): keepalive is not due
            self._last_bytes_received = mqtt.time_func()
        return True

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        if self._sock is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        for _ in range(max(max_packets, READ_BURST)):
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            if self._holding_back():
                return MQTTErrorCode.MQTT_ERR_SUCCESS
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                return MQTTErrorCode.MQTT_ERR_SUCCESS
        if self.buffered() and self._sockpairW is not None:  # select() cannot see our buffer: come back at once
            with contextlib.suppress(BlockingIOError):
                self._sockpairW.send(b"0")
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def loop_misc(self) -> MQTTErrorCode:
        rc = super().loop_misc()
        if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self.buffered():
            return self.loop_read()
        return rc

    def _handle_publish(self) -> MQTTErrorCode:
        """paho's, for what Ronde's gateways send (MQTT v5, QoS 0 or 1, no properties), without paho's per-message
        ``Properties`` tables (the message gets an empty ``Properties`` sharing one set of them) nor the arguments
        of its debug line; anything else (MQTT 3.1.1, QoS 2, properties, a short packet, a client that logs) goes
        to paho's own, which also raises ``MalformedPacket`` as it does."""
        header, packet = self._in_packet["command"], self._in_packet["packet"]
        qos = (header & 0x06) >> 1
        if self._protocol != mqtt.MQTTv5 or qos > 1 or self._logger is not None or self._on_log is not None:
            return super()._handle_publish()
        if len(packet) < 2:  # noqa: PLR2004 - the topic's length prefix
            return super()._handle_publish()
        end = 2 + ((packet[0] << 8) | packet[1])
        pos = end + 2 if qos else end  # the packet id, at QoS 1
        if len(packet) <= pos or packet[pos] != 0:  # no property length, or properties: paho's
            return super()._handle_publish()
        message = mqtt.MQTTMessage(mid=(packet[end] << 8) | packet[end + 1] if qos else 0, topic=bytes(packet[2:end]))
        message.dup = (header & 0x08) != 0
        message.qos = qos
        message.retain = (header & 0x01) != 0
        message.properties = _empty_publish_properties()
        message.payload = bytes(packet[pos + 1 :])
        message.timestamp = mqtt.time_func()
        self._handle_on_message(message)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(message.mid)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_on_message(self, message: mqtt.MQTTMessage) -> None:
        """paho's dispatch without its topic matcher when no per-topic callback is registered
        (``message_callback_add``; the worker registers none): paho decoded the topic and walked its matcher for
        every message before falling back to ``on_message``. With one registered, paho's own."""
        with self._callback_mutex:
            filtered = bool(self._on_message_filtered._root._children)
            on_message = self._on_message
        if filtered:
            super()._handle_on_message(message)
            return
        if on_message is None:
            return
        with self._in_callback_mutex:
            try:
                on_message(self, self._userdata, message)
            except Exception as err:
                self._easy_log(mqtt.MQTT_LOG_ERR, "Caught exception in on_message: %s", err)
                if not self.suppress_exceptions:
                    raise

    def ack_many(self, mids: Iterable[int]) -> MQTTErrorCode:
        """``ack(mid, 1)`` of each QoS 1 message id, queued as one write (the same bytes, in the same order)."""
        packet = b"".join([_PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids])
        if not packet or not self._manual_ack:
            return MQTTErrorCode.MQTT_ERR_SUCCESS
        return self._packet_queue(mqtt.PUBACK, packet, 0, 1)


_PUBLISH_TABLES = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]


def _empty_publish_properties() -> Properties:
    """``Properties(PacketTypes.PUBLISH)`` with nothing set, sharing the read-only tables paho's ``__init__`` builds
    (two dicts of 27 entries, most of a PUBLISH's decoding time) with ``_PUBLISH_TABLES``."""
    empty = Properties.__new__(Properties)
    for name in ("packetType", "types", "names", "properties"):
        object.__setattr__(empty, name, getattr(_PUBLISH_TABLES, name))
    return empty
