"""Tokens: room-less bearers and LiveKit room tokens, minted by the token service."""

from __future__ import annotations

from .._validate import (
    check_name,
    check_optional_bool,
    check_optional_str,
    check_role,
    check_stream_type,
)
from ..models import UTDStreamType, UTDTokenResponse, UTDUserToken
from ._caller import Caller, body_of

__all__ = ["TokensService"]


class TokensService:
    """``api.tokens``: mint bearers and room tokens (no bearer needed)."""

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    async def mint_user_token(
        self,
        identity: str,
        name: str | None = None,
        device_id: str | None = None,
        *,
        identity_token: str | None = None,
        reject_when_busy: bool | None = None,
    ) -> UTDUserToken:
        """Mint a room-less bearer for ``identity`` (``POST /api/v1/auth/user-token``).

        ``identity_token`` is the proof of identity the app's backend signed; an engine in
        production mode requires it (only its dev mode takes ``identity`` at its word).
        ``reject_when_busy``, when given, becomes the identity's preference on the engine:
        while on, calls to it during an active call are answered ``busy`` at once.
        The client's :attr:`~UTDApiClient.user_token` is not changed;
        :meth:`UTDApiClient.authenticate` does that.
        """
        body = body_of(
            identity=check_name(identity, "identity"),
            identity_token=check_optional_str(identity_token, "identity_token"),
            name=check_optional_str(name, "name"),
            device_id=check_optional_str(device_id, "device_id"),
            reject_when_busy=check_optional_bool(reject_when_busy, "reject_when_busy"),
        )
        transport = self._caller.transport
        return await self._caller.model(
            "POST", transport.token_base_url, "/api/v1/auth/user-token", UTDUserToken,
            bearer=False, body=body,
        )

    async def mint_room_token(
        self,
        identity: str,
        room_name: str,
        type: UTDStreamType,
        *,
        role: str = "audience",
        name: str | None = None,
        device_id: str | None = None,
        identity_token: str | None = None,
        reject_when_busy: bool | None = None,
    ) -> UTDTokenResponse:
        """Mint a LiveKit token to join ``room_name`` as ``role`` (``POST /api/v1/token``).

        ``role`` is ``"audience"`` (default) or ``"host"``; the first host of a room owns it.
        ``identity_token`` proves the identity (required by an engine in production mode).
        ``type`` is ``LIVE_STREAM`` or ``AUDIO_ROOM``: a call's token comes from
        ``api.calls.create_call`` (caller) and ``api.calls.accept_call`` (callee).
        ``reject_when_busy`` as in :meth:`mint_user_token`.
        """
        check_role(role)
        stream_type = check_stream_type(type)
        if stream_type.is_call:
            raise ValueError(
                f"{stream_type.value} rooms get their token from create_call / accept_call"
            )
        body = body_of(
            identity=check_name(identity, "identity"),
            room_name=check_name(room_name, "room_name"),
            type=stream_type.value,
            role=role,
            name=check_optional_str(name, "name"),
            device_id=check_optional_str(device_id, "device_id"),
            identity_token=check_optional_str(identity_token, "identity_token"),
            reject_when_busy=check_optional_bool(reject_when_busy, "reject_when_busy"),
        )
        transport = self._caller.transport
        return await self._caller.model(
            "POST", transport.token_base_url, "/api/v1/token", UTDTokenResponse,
            bearer=False, body=body,
        )
