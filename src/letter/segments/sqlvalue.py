"""SQL for one addressed value (a JSON trait or a contact column), per dialect.

Each class answers the positive questions of FilterSpec (``eq``, ``contains``,
``ordered``, ``present``) as a boolean SQL expression that is never NULL, with
exactly the rules of ``values.py``. The compiler negates them for neq,
not_contains and not_exists, so a missing value matches only those.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    Numeric,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from letter.segments.sqlinstant import date_shaped, instant_key_sql, non_capturing
from letter.segments.values import NUMBER_PATTERN, FilterValue, instant_key

__all__ = ["PgJson", "SqliteJson", "TextValue", "Value"]

Expr = ColumnElement[Any]
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_OPS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}


def _compare(left: Any, op: str, right: Any) -> Expr:
    result: Expr = getattr(left, _OPS[op])(right)
    return result


def _glob(text: Expr, pattern: str) -> Expr:
    return text.op("GLOB", return_type=Boolean)(pattern)


def _never_null(expr: Expr) -> Expr:
    # CASE WHEN (not coalesce): SQLite short-circuits AND/OR only in a condition,
    # so this also keeps the checks inside ``expr`` from all running on every row.
    return case((expr, true()), else_=false())


class Value:
    """The questions a filter asks of a value; subclasses supply the SQL pieces."""

    dialect: str

    def present(self) -> Expr:
        raise NotImplementedError

    def eq(self, wanted: FilterValue) -> Expr:
        raise NotImplementedError

    def contains(self, wanted: FilterValue) -> Expr:
        raise NotImplementedError

    # pieces for ordering: string form, is-number, number, instant (all NULL when n/a)
    def string_form(self) -> Expr:
        raise NotImplementedError

    def is_number(self) -> Expr:
        raise NotImplementedError

    def number(self) -> Expr:
        raise NotImplementedError

    def instant(self) -> Expr:
        raise NotImplementedError

    def ordered(self, op: str, wanted: FilterValue) -> Expr:
        """gt/gte/lt/lte: as numbers, else as instants, else as strings."""
        text = self.string_form()
        if self.dialect == "postgresql":
            text = text.collate("C")  # code-point order, like Python and SQLite
        by_text = _compare(text, op, literal(wanted.text, String()))
        expr: Expr
        if wanted.number is not None:
            expr = case((self.is_number(), _compare(self.number(), op, self.bind_number(
                wanted.number))), else_=by_text)
        elif wanted.instant is not None:
            inst = self.instant()
            if self.dialect == "postgresql":
                inst = inst.collate("C")
            # NULL (not an instant) falls back to the string comparison
            by_instant = _compare(inst, op, self.bind_instant(wanted.instant))
            whens = [(self.is_number(), by_text)]
            if _DATE.fullmatch(wanted.text):
                # Against a date, a date-shaped text orders the same as an instant
                # (both sides get the same " 00:00:00.000") and as a string: no parse.
                whens.append((_never_null(self.date_shaped()), by_text))
            expr = case(*whens, else_=func.coalesce(by_instant, by_text))
        else:
            expr = by_text
        return _never_null(expr)

    def date_shaped(self) -> Expr:
        """The value is a text shaped like YYYY-MM-DD (NULL/false otherwise)."""
        raise NotImplementedError

    def bind_number(self, number: Decimal) -> Expr:
        if self.dialect == "postgresql":
            return literal(number, Numeric())
        if number == number.to_integral_value() and abs(number) < 2**63:
            return literal(int(number), Integer())
        return literal(float(number))

    def bind_instant(self, at: datetime) -> Expr:
        return literal(instant_key(at), String())

    # text helpers shared by columns and JSON strings
    def text_is_number(self, text: Expr) -> Expr:
        if self.dialect == "postgresql":
            return text.op("~", return_type=Boolean)(f"^{non_capturing(NUMBER_PATTERN)}$")
        # only number characters, then JSON decides the grammar; exponent <= 3 digits
        # JSON's number grammar, less strings, literals, arrays and objects (which hold
        # other characters) and exponents over three digits; json_valid rejects most
        # texts at their first characters, so it goes first.
        return and_(func.json_valid(text) == 1, not_(_glob(text, "*[^0-9eE.+-]*")),
                    not_(_glob(text, "*[eE]*[0-9][0-9][0-9][0-9]*")))

    def text_number(self, text: Expr) -> Expr:
        return cast(text, Numeric())

    def text_instant(self, text: Expr) -> Expr:
        return instant_key_sql(text, self.dialect)


class TextValue(Value):
    """A nullable text column (email, external_id) or a text expression (created_at)."""

    def __init__(self, text: Any, dialect: str) -> None:
        self.text, self.dialect = text, dialect

    def present(self) -> Expr:
        return self.text.is_not(None)

    def eq(self, wanted: FilterValue) -> Expr:
        return _never_null(self.text == wanted.text)

    def contains(self, wanted: FilterValue) -> Expr:
        fn = func.strpos if self.dialect == "postgresql" else func.instr
        return _never_null(fn(self.text, wanted.text) > 0)

    def string_form(self) -> Expr:
        return self.text

    def is_number(self) -> Expr:
        return _never_null(self.text_is_number(self.text))

    def number(self) -> Expr:
        return case((self.is_number(), self.text_number(self.text)))

    def instant(self) -> Expr:
        return self.text_instant(self.text)

    def date_shaped(self) -> Expr:
        return date_shaped(self.text, self.dialect)


class PgJson(Value):
    """``parent -> key`` in a jsonb document on PostgreSQL."""

    dialect = "postgresql"

    def __init__(self, document: Expr, keys: list[str]) -> None:
        parent: Expr = type_coerce(document, JSONB)
        for key in keys[:-1]:
            parent = parent.op("->", return_type=JSONB)(literal(key, String()))
        last = literal(keys[-1], String())
        self.json = parent.op("->", return_type=JSONB)(last)
        self.text = parent.op("->>", return_type=String)(last)
        self.type = func.jsonb_typeof(self.json)

    def present(self) -> Expr:
        return _never_null(self.type != "null")

    def _scalar_eq(self, typ: Expr, text: Expr, json: Expr, wanted: FilterValue) -> Expr:
        options = [and_(typ == "string", text == wanted.text)]
        if wanted.text in ("true", "false"):
            options.append(and_(typ == "boolean", text == wanted.text))
        exact = wanted.exact_number
        if exact is not None:
            number = cast(json, Numeric()) == literal(exact, Numeric())
            options.append(and_(typ == "number", number))
        return or_(*options)

    def eq(self, wanted: FilterValue) -> Expr:
        if wanted.only_strings_match:
            # ->> of a number or boolean never has this text, so no type check is needed
            return _never_null(self.text == wanted.text)
        return _never_null(self._scalar_eq(self.type, self.text, self.json, wanted))

    def contains(self, wanted: FilterValue) -> Expr:
        # jsonb containment of a scalar in an array tests its top-level elements,
        # with numeric equality for numbers: exactly element string-form equality.
        has = self.json.op("@>", return_type=Boolean)
        elements = [has(func.to_jsonb(literal(wanted.text, String())))]
        if wanted.text in ("true", "false"):
            elements.append(has(literal_column(f"'{wanted.text}'::jsonb")))
        if wanted.exact_number is not None:
            elements.append(has(func.to_jsonb(literal(wanted.exact_number, Numeric()))))
        in_array = or_(*elements)
        text = self.string_form()
        return _never_null(case(
            (self.type == "array", in_array),
            (self.type.in_(("string", "number", "boolean")), func.strpos(text, wanted.text) > 0),
            else_=false(),
        ))

    def string_form(self) -> Expr:
        return case(
            (self.type.in_(("string", "boolean")), self.text),
            (self.type == "number", cast(func.trim_scale(cast(self.json, Numeric())), String())),
        )

    def is_number(self) -> Expr:
        return _never_null(or_(self.type == "number",
                               and_(self.type == "string", self.text_is_number(self.text))))

    def number(self) -> Expr:
        return case(
            (self.type == "number", cast(self.json, Numeric())),
            (and_(self.type == "string", self.text_is_number(self.text)),
             cast(self.text, Numeric())),
        )

    def instant(self) -> Expr:
        return case((self.type == "string", self.text_instant(self.text)))

    def date_shaped(self) -> Expr:
        return and_(self.type == "string", date_shaped(self.text, self.dialect))


class SqliteJson(Value):
    """``json_extract(document, '$."a"."b"')`` on SQLite."""

    dialect = "sqlite"

    def __init__(self, document: Expr, keys: list[str]) -> None:
        self.document = document
        self.path = "$" + "".join(f'."{key}"' for key in keys)
        self.type = func.json_type(document, self.path)
        self.value = func.json_extract(document, self.path)

    def present(self) -> Expr:
        return _never_null(self.type.not_in(("null",)))

    def _scalar_eq(self, typ: Expr, value: Expr, wanted: FilterValue) -> Expr:
        whens: list[tuple[Any, Any]] = [("text", value == wanted.text)]
        if wanted.text in ("true", "false"):
            whens.append((wanted.text, true()))
        exact = wanted.exact_number
        if exact is not None:
            bound = self.bind_number(exact)
            whens += [("integer", value == bound), ("real", value == bound)]
        return case(dict(whens), value=typ, else_=false())

    def eq(self, wanted: FilterValue) -> Expr:
        if wanted.only_strings_match:
            # json_extract gives numbers and booleans as SQL numbers, objects and
            # arrays as text starting with { or [: none can equal this text
            return _never_null(self.value == wanted.text)
        return _never_null(self._scalar_eq(self.type, self.value, wanted))

    def contains(self, wanted: FilterValue) -> Expr:
        items = func.json_each(self.document, self.path).table_valued("type", "value").alias("item")
        in_array = exists(select(literal(1)).select_from(items).where(
            self._scalar_eq(items.c.type, items.c.value, wanted)))
        return _never_null(case(
            (self.type == "array", in_array),
            (self.type.in_(("text", "integer", "real", "true", "false")),
             func.instr(self.string_form(), wanted.text) > 0),
            else_=false(),
        ))

    def string_form(self) -> Expr:
        raw = self.document.op("->", return_type=String)(literal(self.path, String()))
        return case({
            "text": self.value,
            "true": literal("true"),
            "false": literal("false"),
            "integer": cast(self.value, String()),
            "real": func.letter_number_text(raw),
        }, value=self.type)

    def is_number(self) -> Expr:
        return _never_null(case({
            "integer": true(), "real": true(), "text": _never_null(self.text_is_number(self.value)),
        }, value=self.type, else_=false()))

    def number(self) -> Expr:
        return case({
            "integer": self.value, "real": self.value,
            "text": case((self.text_is_number(self.value), self.text_number(self.value))),
        }, value=self.type)

    def instant(self) -> Expr:
        return case({"text": self.text_instant(self.value)}, value=self.type)

    def date_shaped(self) -> Expr:
        return and_(self.type == "text", date_shaped(self.value, self.dialect))
