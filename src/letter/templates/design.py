"""The ``design`` JSON of a template, validated and normalised.

A design is what a non-designer can change about every email of a project::

    {
      "preset": "branded",                 # "plain" | "branded": the starting point
      "colors": {"background": "#f4f4f5",  # page background
                 "content": "#ffffff",     # the card the body sits on
                 "text": "#18181b",        # body text
                 "accent": "#4f46e5"},     # links and buttons
      "font": "system",                    # "system" | "serif" | "mono" | "helvetica" | "georgia"
      "logo": null | {"url": "https://…", "width": 120, "alt": "Acme"},
      "footer": {"text": "You get this because…", "address": "Acme Inc, 1 Main St, Paris"},
      "align": "left"                      # "left" | "center": header and footer alignment
    }

Missing keys take the preset's value, so ``{"preset": "plain"}`` is a whole
design. The footer address is the sender's postal address that anti-spam laws
ask for; it is rendered on every email with the unsubscribe link.

>>> normalise_design({"preset": "plain", "colors": {"accent": "#ff0000"}})["colors"]["accent"]
'#ff0000'
"""

from __future__ import annotations

import copy
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from letter.errors import Invalid

__all__ = ["FONTS", "PRESETS", "Design", "font_stack", "normalise_design"]

HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}){1,2}$")

FONTS: dict[str, str] = {
    "system": "-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif",
    "helvetica": "Helvetica, Arial, sans-serif",
    "serif": "Georgia, 'Times New Roman', serif",
    "georgia": "Georgia, serif",
    "mono": "'SFMono-Regular', Menlo, Consolas, monospace",
}

PRESETS: dict[str, dict[str, Any]] = {
    "plain": {
        "preset": "plain",
        "colors": {
            "background": "#ffffff",
            "content": "#ffffff",
            "text": "#111111",
            "accent": "#111111",
        },
        "font": "system",
        "logo": None,
        "footer": {"text": "", "address": ""},
        "align": "left",
    },
    "branded": {
        "preset": "branded",
        "colors": {
            "background": "#f4f4f5",
            "content": "#ffffff",
            "text": "#18181b",
            "accent": "#4f46e5",
        },
        "font": "system",
        "logo": None,
        "footer": {"text": "", "address": ""},
        "align": "center",
    },
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Colors(_Strict):
    background: str
    content: str
    text: str
    accent: str

    @field_validator("background", "content", "text", "accent")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not HEX.match(value):
            raise ValueError(f"{value!r} is not a #rgb or #rrggbb colour")
        return value.lower()


class Logo(_Strict):
    url: str = Field(max_length=2000, pattern=r"^https?://")
    width: int = Field(default=120, ge=16, le=600)
    alt: str = Field(default="", max_length=200)


class Footer(_Strict):
    text: str = Field(default="", max_length=2000)
    address: str = Field(default="", max_length=500)


class Design(_Strict):
    preset: Literal["plain", "branded"]
    colors: Colors
    font: Literal["system", "helvetica", "serif", "georgia", "mono"]
    logo: Logo | None
    footer: Footer
    align: Literal["left", "center"]


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def normalise_design(raw: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate a (possibly partial) design over ``base`` (or its preset);
    raise Invalid naming the field on a bad value."""
    if not isinstance(raw, dict):
        raise Invalid("design: must be an object")
    preset = raw.get("preset", (base or {}).get("preset", "branded"))
    if preset not in PRESETS:
        raise Invalid('design.preset: must be "plain" or "branded"')
    start = base if base is not None else PRESETS[preset]
    merged = _merge(start, raw)
    try:
        return Design.model_validate(merged).model_dump()
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise Invalid(f"design.{where}: {err['msg']}") from exc


def font_stack(name: str) -> str:
    return FONTS.get(name, FONTS["system"])
