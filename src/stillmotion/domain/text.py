"""Text a database can store (`unstorable`): PostgreSQL's text type refuses the NUL character, and a lone UTF-16
surrogate (JSON can spell one: "\\ud800") has no UTF-8 form at all; either fails an insert or a lookup."""

from __future__ import annotations


def unstorable(value: str) -> str | None:
    """Why `value` cannot be stored, as a rule naming where (for an error message), or None when it can."""
    if "\x00" in value:
        return f"must not contain a NUL character (\\u0000, at character {value.index(chr(0))})"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return (
                f"must be Unicode text: it holds a lone surrogate (\\u{ord(value[exc.start]):04x} at character "
                f"{exc.start}), which has no UTF-8 form"
            )
    return None
