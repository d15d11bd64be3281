"""Option and argument values without importing Pydantic.

Typer checks every value with a Pydantic ``TypeAdapter`` built on first use,
and importing Pydantic costs more than the rest of a client command's
start-up. Nearly all of Letter's options are plain ``str``, ``bool``, ``int``
(with ``min``/``max``) or ``list[str]``: for those, ``lighten`` gives each
parameter a checker that gives the same values and the same messages; any
other type, or a value of an unexpected shape, still goes through Typer's
own. Without the Typer internals this relies on, it does nothing (start-up
is slower, behaviour the same; ``tests/cli/test_startup.py`` notices).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

try:
    from typer._coercion import RuntimeParam, build_runtime_param
except ImportError:  # another Typer: leave its parameters alone
    RuntimeParam = None  # type: ignore[assignment,misc]

if TYPE_CHECKING:
    from typer._click import Command, Context
    from typer.core import _TyperParameter as Parameter

__all__ = ["lighten"]

_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


def lighten(command: Command) -> None:
    """Give the plain parameters of ``command`` and its subcommands a light checker."""
    if RuntimeParam is None:
        return
    # The --help option is made on first use: make it now, to lighten it too.
    help_option = command.get_help_option(command.context_class(command))
    for param in [*command.params, *([help_option] if help_option else [])]:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", "unset") is not None:
            continue
        info = descriptor.parameter_info
        kind = descriptor.annotation
        plain = kind in (str, bool, list[str]) or (kind is int and not info.clamp)
        if plain and info.parser is None and getattr(info, "click_type", None) is None:
            param._runtime_param = _Plain(parameter_info=info, annotation=kind)  # type: ignore[attr-defined]
    for sub in getattr(command, "commands", {}).values():
        lighten(sub)


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _Plain(RuntimeParam):
        def _coerce_value(self, value: Any, param: Parameter, ctx: Context) -> Any:
            kind = self.annotation
            if kind is str and isinstance(value, str):
                return value
            if kind is bool and isinstance(value, bool):
                return value
            if kind == list[str] and isinstance(value, list | tuple) and all(
                isinstance(item, str) for item in value
            ):
                return list(value)
            if kind is int and not isinstance(value, bool):
                return self._integer(value, param, ctx)
            return self._typer(value, param, ctx)

        def _integer(self, value: Any, param: Parameter, ctx: Context) -> Any:
            from typer import BadParameter

            if isinstance(value, str) and _INTEGER.fullmatch(value):
                value = int(value)
            if not isinstance(value, int):
                if isinstance(value, str):
                    raise BadParameter(
                        "Input should be a valid integer, unable to parse string as an "
                        "integer", ctx=ctx, param=param,
                    )
                return self._typer(value, param, ctx)
            low, high = self.parameter_info.min, self.parameter_info.max
            if low is not None and value < low:
                raise BadParameter(f"Input should be greater than or equal to {low}",
                                   ctx=ctx, param=param)
            if high is not None and value > high:
                raise BadParameter(f"Input should be less than or equal to {high}",
                                   ctx=ctx, param=param)
            return value

        def _typer(self, value: Any, param: Parameter, ctx: Context) -> Any:
            runtime = build_runtime_param(param.type_descriptor)
            return runtime._coerce_value(value, param, ctx)
