"""Benchmark strict decoding against cattrs' default (converting) hooks on a realistic answer.

Run: ``python bench/bench_decode.py [--rounds N] [--quick]``. Prints one line: the time to
structure a busy audio room's state (a 50-seat grid, half of it held, a stage, pending
requests and invitations, as the engine answers a seat command) with the SDK's strict
converter, against a plain ``cattrs.Converter`` with the same settings whose default hooks
convert instead of checking. Target ratio <= 1.15 (the strict hooks' type checks are the
only extra work).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import cattrs
from _common import parser, report

from utd_stream_rx.models import UTDRoomState, converter

SEATS = 50
STRUCTURES_PER_SAMPLE = 200


def busy_room() -> dict[str, Any]:
    """A room state as the engine sends it: 50 seats (every other one held), a stage of
    three, 8 speak requests, 8 stage requests and 4 invitations."""
    seats = [
        {
            "index": index,
            "identity": f"user-{index}" if index % 2 == 0 else None,
            "name": f"User {index}" if index % 2 == 0 else None,
            "locked": index % 7 == 3,
            "muted": index % 5 == 0,
        }
        for index in range(SEATS)
    ]
    return {
        "room_name": "town-hall",
        "type": "audio_room",
        "version": 412,
        "host_identity": "user-0",
        "seats": {"count": SEATS, "mode": "request", "seats": seats, "mode_id": None,
                  "version": 412},
        "stage": [{"identity": f"user-{i}", "name": None, "role": "speaker"} for i in range(3)],
        "stage_requests": [
            {"request_id": 100 + i, "identity": f"viewer-{i}", "name": None,
             "created_at": 1700000000.0 + i}
            for i in range(8)
        ],
        "speak_requests": [
            {"request_id": 200 + i, "identity": f"listener-{i}", "seat_index": i * 2 + 1,
             "name": f"Listener {i}", "created_at": 1700000100.5 + i}
            for i in range(8)
        ],
        "invitations": [
            {"identity": f"guest-{i}", "seat_index": None, "invited_by": "user-0",
             "created_at": 1700000200.25 + i}
            for i in range(4)
        ],
        "call": None,
        "requests_version": 410,
        "requests_omitted": False,
        "stage_invitations": [],
        "ended": False,
    }


def _sample(conv: cattrs.Converter, data: dict[str, Any]) -> float:
    """Microseconds per structure of ``data``, over a batch."""
    began = time.perf_counter()
    for _ in range(STRUCTURES_PER_SAMPLE):
        conv.structure(data, UTDRoomState)
    return (time.perf_counter() - began) / STRUCTURES_PER_SAMPLE * 1e6


def main() -> int:
    """Take paired samples (strict, then default) and print the ratio line."""
    args = parser(__doc__ or "", rounds=200).parse_args()
    rounds = 10 if args.quick else args.rounds
    default = cattrs.Converter(forbid_extra_keys=False, omit_if_default=False)
    data = busy_room()
    assert converter.structure(data, UTDRoomState) == default.structure(data, UTDRoomState)
    strict: list[float] = []
    loose: list[float] = []
    for _ in range(rounds):
        strict.append(_sample(converter, data))
        loose.append(_sample(default, data))
    ok = report("structure a 50-seat room state (strict/default)", "us", strict, loose, 1.15)
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
