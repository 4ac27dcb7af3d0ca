"""The engine's hand-built LiveKit token carries exactly the claims ``livekit.api.AccessToken``
writes for the same identity, name, room, grants, attributes and lifetime, so an upgrade of
either side cannot drift unnoticed (LiveKit's server reads these claims)."""

from __future__ import annotations

import datetime
import time
from typing import Any

import attrs
import jwt
import pytest
from livekit.api import AccessToken, TokenVerifier, VideoGrants

from utd_stream_engine.livekit_bridge import mint_livekit_token
from utd_stream_engine.state import Grant

API_KEY = "APIparity"
API_SECRET = "parity-secret-that-is-long-enough-for-hs256"
TIME_CLAIMS = ("iat", "nbf", "exp", "jti")


@attrs.frozen
class Case:
    """One token as the engine mints it: who, where, which grant, for how long."""

    identity: str
    room: str
    grant: Grant
    name: str | None = None
    version: int = 1
    ttl: float = 600


CASES = {
    "subscriber only": Case("aud-1", "app__lobby", Grant("audience", None, False, ())),
    "speaker on a seat, microphone": Case(
        "spk-1", "app__lobby", Grant("speaker", 3, True, ("microphone",)), name="Ann",
        version=7, ttl=3600,
    ),
    "host, camera and microphone": Case(
        "host-1", "app__stage", Grant("host", None, True, ("camera", "microphone")),
        name="Hôst Ünïcode", version=12, ttl=6 * 3600.0,
    ),
    "host without publishing (outside calls)": Case(
        "host-2", "app__stage", Grant("host", None, False, ()), name="H", version=2, ttl=1,
    ),
    "an empty name is no name": Case(
        "aud-2", "app__room-x", Grant("audience", None, False, ()), name="", version=99,
        ttl=24 * 3600,
    ),
}


def _reference(case: Case) -> str:
    """The token ``livekit.api.AccessToken`` builds for ``case``."""
    grants = VideoGrants(
        room_join=True,
        room=case.room,
        can_publish=case.grant.can_publish,
        can_subscribe=True,
        can_publish_data=True,
        can_publish_sources=list(case.grant.sources),
        can_update_own_metadata=False,
    )
    token = (
        AccessToken(API_KEY, API_SECRET)
        .with_identity(case.identity)
        .with_grants(grants)
        .with_attributes({**case.grant.attributes, "utd.version": str(case.version)})
        .with_ttl(datetime.timedelta(seconds=case.ttl))
    )
    if case.name:
        token = token.with_name(case.name)
    return token.to_jwt()


def _engine(case: Case) -> str:
    return mint_livekit_token(
        API_KEY,
        API_SECRET,
        livekit_room=case.room,
        identity=case.identity,
        name=case.name,
        grant=case.grant,
        version=case.version,
        ttl=case.ttl,
    )


def _decoded(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The verified claims of ``token`` (with the shared key) and its header."""
    claims = jwt.decode(token, API_SECRET, algorithms=["HS256"], issuer=API_KEY)
    return claims, jwt.get_unverified_header(token)


def _split_times(claims: dict[str, Any]) -> dict[str, int]:
    """Take the time and id claims out of ``claims`` (their values differ from run to run)."""
    return {key: claims.pop(key) for key in TIME_CLAIMS if key in claims}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_the_engine_token_carries_the_access_token_claims(case: Case) -> None:
    began = int(time.time())
    engine, engine_header = _decoded(_engine(case))
    reference, reference_header = _decoded(_reference(case))
    assert engine_header == reference_header

    engine_times, reference_times = _split_times(engine), _split_times(reference)
    assert engine == reference
    assert engine_times.keys() == reference_times.keys() >= {"nbf", "exp"}

    # The lifetime is the ttl (AccessToken reads the clock twice: a second may tick between).
    assert engine_times["exp"] - engine_times["nbf"] == int(case.ttl)
    assert reference_times["exp"] - reference_times["nbf"] - int(case.ttl) in (0, 1)
    assert began <= engine_times["nbf"] <= int(time.time())


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_livekit_reads_the_same_grants_from_both(case: Case) -> None:
    verifier = TokenVerifier(API_KEY, API_SECRET)
    assert verifier.verify(_engine(case)) == verifier.verify(_reference(case))
