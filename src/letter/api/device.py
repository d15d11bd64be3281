"""``/v1/device/code`` and ``/v1/device/token``: the CLI's login (RFC 8628)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from letter.api.deps import RuntimeDep, SessionDep, count_request
from letter.auth import device
from letter.auth.schemas import DeviceCodeOut, DeviceCodeRequest, DeviceTokenRequest, TokenCreated

router = APIRouter(prefix="/v1/device", tags=["identity"])


@router.post("/code", response_model=DeviceCodeOut)
def device_code(
    body: DeviceCodeRequest, request: Request, session: SessionDep, runtime: RuntimeDep
) -> DeviceCodeOut:
    ip = request.client.host if request.client else None
    # Anyone may start a login, so each address gets a budget of them.
    count_request(request, runtime.limiter, "device_code", ip or "unknown")
    pending = device.start(session, body.client_name, ip)
    shown = device.format_user_code(pending.authorization.user_code)
    uri = f"{runtime.settings.public_url.rstrip('/')}/device"
    return DeviceCodeOut(
        device_code=pending.device_code,
        user_code=shown,
        verification_uri=uri,
        verification_uri_complete=f"{uri}?user_code={shown}",
        expires_in=int(device.EXPIRES_IN.total_seconds()),
        interval=device.INTERVAL,
    )


@router.post("/token", response_model=TokenCreated)
def device_token(
    body: DeviceTokenRequest, session: SessionDep, runtime: RuntimeDep
) -> TokenCreated:
    minted = device.poll(session, body.device_code, runtime.limiter.first_within)
    t = minted.token
    return TokenCreated(
        id=t.id, name=t.name, prefix=t.prefix, token=minted.raw, expires_at=t.expires_at
    )
