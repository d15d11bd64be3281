"""SQL for one addressed value (a JSON trait or a contact column), per dialect.

Each class answers the positive questions of FilterSpec (``eq``, ``contains``,
``ordered``, ``present``) as a boolean SQL expression that is never NULL, with
exactly the rules of ``values.py``. The compiler negates them for neq,
not_contains and not_exists, so a missing value matches only those.

Every expression dispatches once on the JSON type and keeps conditions inside
``CASE WHEN`` (SQLite evaluates both sides of AND/OR outside a condition), so a
filter costs little more per contact than reading its traits.
"""

from __future__ import annotations

import re
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

from letter.segments.sqlinstant import instant_key_sql, non_capturing
from letter.values import NUMBER_PATTERN, FilterValue, canonical_number, instant_key

__all__ = ["PgJson", "SqliteJson", "TextValue", "Value"]

Expr = ColumnElement[Any]
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PLAIN = re.compile(r'[ !#-\[\]-~]*')  # printable ASCII except " and \
_OPS = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__"}
_PY_OPS = {"gt": str.__gt__, "gte": str.__ge__, "lt": str.__lt__, "lte": str.__le__}


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
    """The questions a filter asks of a value, and the text rules they share."""

    dialect: str

    def present(self) -> Expr:
        raise NotImplementedError

    def eq(self, wanted: FilterValue) -> Expr:
        raise NotImplementedError

    def contains(self, wanted: FilterValue) -> Expr:
        raise NotImplementedError

    def ordered(self, op: str, wanted: FilterValue) -> Expr:
        """gt/gte/lt/lte: as numbers, else as instants, else as strings."""
        raise NotImplementedError

    def _text(self, text: Expr) -> Expr:
        # code-point order on PostgreSQL, like Python and SQLite's BINARY collation
        return text.collate("C") if self.dialect == "postgresql" else text

    def bind_number(self, number: Decimal) -> Expr:
        if self.dialect == "postgresql":
            return literal(number, Numeric())
        if number == number.to_integral_value() and abs(number) < 2**63:
            return literal(int(number), Integer())
        return literal(float(number))

    def text_is_number(self, text: Expr) -> Expr:
        """The text reads as a number (JSON grammar, exponent of at most 3 digits)."""
        if self.dialect == "postgresql":
            # a cheap first-character test spares most texts the regular expression
            first = func.strpos("-0123456789", func.left(text, 1)) > 0
            return and_(first, self._text(text).op("~", return_type=Boolean)(
                f"^{non_capturing(NUMBER_PATTERN)}$"))
        # json_valid rejects most texts at their first characters, so it goes first;
        # the character check rules out JSON strings, literals, arrays and objects.
        return and_(func.json_valid(text) == 1, not_(_glob(text, "*[^0-9eE.+-]*")),
                    not_(_glob(text, "*[eE]*[0-9][0-9][0-9][0-9]*")))

    def ordered_text(self, op: str, wanted: FilterValue, text: Expr) -> Expr:
        """Ordering of a string value (may be NULL when ``text`` is NULL)."""
        by_text = _compare(self._text(text), op, literal(wanted.text, String()))
        if wanted.number is not None:
            by_number = _compare(cast(text, Numeric()), op, self.bind_number(wanted.number))
            return case((self.text_is_number(text), by_number), else_=by_text)
        if wanted.instant is not None:
            key = self._text(instant_key_sql(text, self.dialect))
            by_instant = _compare(key, op, literal(instant_key(wanted.instant), String()))
            whens = [(self.text_is_number(text), by_text)]
            if _DATE.fullmatch(wanted.text):
                # Against a date, a date-shaped text orders the same as an instant
                # (both sides get the same " 00:00:00.000") and as a string, so no
                # parse is needed. The test may be loose: any 10-character text with
                # dashes at 5 and 8 is a date, or not an instant (nor a number) and
                # compares as a string anyway.
                loose = (_glob(text, "????-??-??") if self.dialect == "sqlite" else
                         and_(func.length(text) == 10, func.substr(text, 5, 1) == "-",
                              func.substr(text, 8, 1) == "-"))
                whens.insert(0, (loose, by_text))
            return case(*whens, else_=func.coalesce(by_instant, by_text))
        return by_text

    def ordered_number(self, op: str, wanted: FilterValue, number: Expr, text: Expr) -> Expr:
        """Ordering of a JSON number, given its value and its string form."""
        if wanted.number is not None:
            return _compare(number, op, self.bind_number(wanted.number))
        return _compare(self._text(text), op, literal(wanted.text, String()))

    @staticmethod
    def ordered_literal(op: str, wanted: FilterValue, text: str) -> Expr:
        """Ordering of a boolean: its string form against the value, known now."""
        return true() if _PY_OPS[op](text, wanted.text) else false()


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

    def ordered(self, op: str, wanted: FilterValue) -> Expr:
        return _never_null(self.ordered_text(op, wanted, self.text))


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

    def _number_text(self) -> Expr:
        return cast(func.trim_scale(cast(self.json, Numeric())), String())

    def eq(self, wanted: FilterValue) -> Expr:
        if wanted.only_strings_match:
            # ->> of a number or boolean never has this text, so no type check is needed
            return _never_null(self.text == wanted.text)
        whens: list[tuple[Any, Any]] = [("string", self.text == wanted.text)]
        if wanted.text in ("true", "false"):
            whens.append(("boolean", self.text == wanted.text))
        if wanted.exact_number is not None:
            whens.append(("number", cast(self.json, Numeric())
                          == literal(wanted.exact_number, Numeric())))
        return _never_null(case(dict(whens), value=self.type, else_=false()))

    def contains(self, wanted: FilterValue) -> Expr:
        # jsonb containment of a scalar in an array tests its top-level elements,
        # with numeric equality for numbers: exactly element string-form equality.
        has = self.json.op("@>", return_type=Boolean)
        elements = [has(func.to_jsonb(literal(wanted.text, String())))]
        if wanted.text in ("true", "false"):
            elements.append(has(literal_column(f"'{wanted.text}'::jsonb")))
        if wanted.exact_number is not None:
            elements.append(has(func.to_jsonb(literal(wanted.exact_number, Numeric()))))
        found = func.strpos
        return _never_null(case({
            "array": or_(*elements),
            "string": found(self.text, wanted.text) > 0,
            "boolean": found(self.text, wanted.text) > 0,
            "number": found(self._number_text(), wanted.text) > 0,
        }, value=self.type, else_=false()))

    def ordered(self, op: str, wanted: FilterValue) -> Expr:
        number: Expr
        if wanted.number is not None:
            # number against number: jsonb's own (exact, numeric) order is cheaper
            # than casting every value to numeric
            bound = cast(literal(canonical_number(wanted.number), String()), JSONB)
            number = _compare(self.json, op, bound)
        else:
            number = self.ordered_number(op, wanted, self.json, self._number_text())
        return _never_null(case({
            "string": self.ordered_text(op, wanted, self.text),
            "number": number,
            "boolean": case((self.text == "true", self.ordered_literal(op, wanted, "true")),
                            else_=self.ordered_literal(op, wanted, "false")),
        }, value=self.type, else_=false()))


class SqliteJson(Value):
    """``json_extract(document, '$."a"."b"')`` on SQLite."""

    dialect = "sqlite"

    def __init__(self, document: Expr, keys: list[str]) -> None:
        self.document = document
        self.path = "$" + "".join(f'."{key}"' for key in keys)
        self.type = func.json_type(document, self.path)
        self.value = func.json_extract(document, self.path)

    def present(self) -> Expr:
        # json_extract is NULL for a JSON null and for a missing path alike
        return self.value.is_not(None)

    def _real_text(self) -> Expr:
        # the number's JSON text as stored, canonicalised like values.string_form
        raw = self.document.op("->", return_type=String)(literal(self.path, String()))
        return func.letter_number_text(raw)

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
        in_array: Expr = exists(select(literal(1)).select_from(items).where(
            self._scalar_eq(items.c.type, items.c.value, wanted)))
        if wanted.only_strings_match and _PLAIN.fullmatch(wanted.text):
            # Letter writes JSON with Python's encoders, which never escape printable
            # ASCII other than " and \: an element equal to this text appears
            # verbatim, quoted, in the array's JSON, so most arrays skip json_each.
            # In an array of scalars without escapes ("\\"), quotes delimit strings
            # exactly, so finding the quoted text is finding the element.
            quoted = literal(f'"{wanted.text}"', String())
            flat = and_(func.instr(self.value, "\\") == 0, func.instr(self.value, "{") == 0,
                        func.instr(func.substr(self.value, 2), "[") == 0)
            in_array = case((func.instr(self.value, quoted) == 0, false()), (flat, true()),
                            else_=in_array)
        found = func.instr
        return _never_null(case({
            "array": in_array,
            "text": found(self.value, wanted.text) > 0,
            "integer": found(cast(self.value, String()), wanted.text) > 0,
            "real": found(self._real_text(), wanted.text) > 0,
            "true": true() if wanted.text in "true" else false(),
            "false": true() if wanted.text in "false" else false(),
        }, value=self.type, else_=false()))

    def ordered(self, op: str, wanted: FilterValue) -> Expr:
        return _never_null(case({
            "text": self.ordered_text(op, wanted, self.value),
            "integer": self.ordered_number(op, wanted, self.value, cast(self.value, String())),
            "real": self.ordered_number(op, wanted, self.value, self._real_text()),
            "true": self.ordered_literal(op, wanted, "true"),
            "false": self.ordered_literal(op, wanted, "false"),
        }, value=self.type, else_=false()))
