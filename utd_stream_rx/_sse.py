"""An incremental decoder for ``text/event-stream`` (server-sent events).

It is fed raw bytes as they arrive and hands back complete events, so it works on any chunking
of the stream: a line or a UTF-8 character split across two reads, ``\\r\\n``, ``\\n`` or a
lone ``\\r`` as line ends. Comments (``: keepalive``) and unknown fields are dropped.
"""

from __future__ import annotations

import codecs

import attrs

__all__ = ["SSEDecoder", "SSEEvent", "SSETooLarge"]


class SSETooLarge(ValueError):
    """A line or an event grew past the decoder's size limit."""


@attrs.frozen
class SSEEvent:
    """One dispatched event: its type (``message`` by default), data, and optional id/retry."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Turn chunks of an event stream into :class:`SSEEvent` values.

    Args:
        max_size: Upper bound, in characters, on one pending line and on one event's data; past
            it :class:`SSETooLarge` is raised rather than buffering without end.
    """

    def __init__(self, max_size: int = 1 << 20) -> None:
        self._max_size = max_size
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._started = False
        # A chunk that ended in "\r" may be the first half of "\r\n".
        self._after_cr = False
        self._event = ""
        self._data: list[str] = []
        self._data_size = 0
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """Consume ``chunk`` and return the events it completed (possibly none)."""
        text = self._text.decode(chunk)
        if not self._started and text:
            self._started = True
            text = text.removeprefix("\ufeff")
        if self._after_cr and text:
            text = text.removeprefix("\n")
            self._after_cr = False
        events: list[SSEEvent] = []
        buffer = self._pending + text
        start = 0
        length = len(buffer)
        while True:
            cr = buffer.find("\r", start)
            lf = buffer.find("\n", start)
            if cr < 0 and lf < 0:
                break
            if cr < 0 or (0 <= lf < cr):
                end, nxt = lf, lf + 1
            elif cr + 1 < length:
                end = cr
                nxt = cr + 2 if buffer[cr + 1] == "\n" else cr + 1
            else:
                end, nxt = cr, cr + 1
                self._after_cr = True
            event = self._line(buffer[start:end])
            if event is not None:
                events.append(event)
            start = nxt
        self._pending = buffer[start:]
        if len(self._pending) > self._max_size:
            raise SSETooLarge(f"an event-stream line exceeds {self._max_size} characters")
        return events

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if field == "data":
            self._data.append(value)
            self._data_size += len(value) + 1
            if self._data_size > self._max_size:
                raise SSETooLarge(f"an event's data exceeds {self._max_size} characters")
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self._id = value
        elif field == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        data, event = self._data, self._event
        self._data, self._data_size, self._event = [], 0, ""
        # An event without data lines is not delivered; the id it carried still sticks.
        if not data:
            return None
        return SSEEvent(event=event or "message", data="\n".join(data), id=self._id,
                        retry=self._retry)
