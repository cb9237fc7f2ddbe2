"""What the mediator can see on the device itself: an LED or a screen line, behind one method."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TextIO

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IndicatorState:
    scanning: bool
    reason: str
    connected: bool
    outbox_depth: int
    alarm: bool


class Indicator(Protocol):
    def show(self, state: IndicatorState) -> None: ...


class ConsoleIndicator:
    """One line per change on the console (a phone-sized device's terminal, or the journal)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self._last: IndicatorState | None = None

    def show(self, state: IndicatorState) -> None:
        shown = (state.scanning, state.reason, state.connected, state.alarm)
        last = self._last
        if last is not None and (last.scanning, last.reason, last.connected, last.alarm) == shown:
            return
        self._last = state
        scan = "SCANNING" if state.scanning else "NOT SCANNING"
        link = "online" if state.connected else "offline (events kept on the device)"
        alarm = f" | ALARM: {state.outbox_depth} events waiting" if state.alarm else ""
        print(f"[ronde] {scan}: {state.reason} | {link}{alarm}", file=self.stream, flush=True)


class SysfsLedIndicator:
    """A Linux LED (``/sys/class/leds/NAME``): on while scanning, blinking (timer trigger) on alarm."""

    def __init__(self, led_dir: Path) -> None:
        self.led_dir = led_dir

    def _write(self, name: str, value: str) -> None:
        try:
            (self.led_dir / name).write_text(value)
        except OSError as exc:
            log.warning("cannot drive LED %s: %s", self.led_dir, exc.strerror)

    def show(self, state: IndicatorState) -> None:
        if state.alarm:
            self._write("trigger", "timer")
            return
        self._write("trigger", "none")
        self._write("brightness", "1" if state.scanning else "0")


class Indicators:
    """Several indicators at once (the console line and an LED)."""

    def __init__(self, *indicators: Indicator) -> None:
        self.indicators = indicators

    def show(self, state: IndicatorState) -> None:
        for indicator in self.indicators:
            indicator.show(state)
