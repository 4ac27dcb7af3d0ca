import pickle

from utd_stream_rx import UTDStreamException


def test_fields_and_flags() -> None:
    banned = UTDStreamException("no", 403, "banned")
    assert banned.is_banned and not banned.is_rate_limited
    forbidden = UTDStreamException("no", 403, "forbidden")
    assert not forbidden.is_banned
    limited = UTDStreamException("slow down", 429, "rate_limited", retry_after=2.5)
    assert limited.is_rate_limited and limited.retry_after == 2.5
    assert UTDStreamException("down", code="network").is_network_error
    assert not UTDStreamException("x", 500).is_network_error


def test_readable_str() -> None:
    exc = UTDStreamException("seat 3 is taken", 409, "seat_taken")
    assert str(exc) == "seat 3 is taken (HTTP 409, code=seat_taken)"
    assert str(UTDStreamException("plain")) == "plain"
    assert "retry after 3s" in str(UTDStreamException("x", 429, retry_after=3))


def test_pickle_round_trip_keeps_every_field() -> None:
    exc = UTDStreamException("slow", 429, "rate_limited", retry_after=1.0)
    back = pickle.loads(pickle.dumps(exc))
    assert (back.message, back.status_code, back.code, back.retry_after) == (
        "slow",
        429,
        "rate_limited",
        1.0,
    )
