"""Driving the pages the way a browser does: read the form, post it back."""

from __future__ import annotations

import re
from typing import Any

CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html
    return found.group(1)


def sign_in(client: Any, email: str, password: str, next_path: str = "") -> Any:
    page = client.get("/sign-in", params={"next": next_path} if next_path else None)
    assert page.status_code == 200, page.text
    return client.post(
        "/sign-in",
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": next_path,
        },
        follow_redirects=False,
    )


def approve(client: Any, user_code: str, action: str = "approve", **extra: str) -> Any:
    page = client.get("/device", params={"user_code": user_code})
    assert page.status_code == 200, page.text
    data = {"user_code": user_code, "action": action, "csrf_token": csrf_of(page.text), **extra}
    return client.post("/device", data=data)
