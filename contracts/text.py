"""What counts as an empty name, for every name Roster keeps (userName, a group's or a tenant's name)."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

# Letters that show as nothing (Hangul fillers, the blank Braille pattern): Unicode lists them as
# default-ignorable or invisible, yet gives them a letter's or a symbol's category.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(text: str) -> bool:
    """Whether ``text`` shows nothing: only white space and invisible characters — format characters
    (Unicode category Cf: zero-width space U+200B, the byte order mark U+FEFF, joiners, direction
    marks) and the fillers above. A name made of them looks empty wherever it is listed and cannot be
    told from another such name, so it is refused as a blank one is."""
    return all(
        char.isspace() or char in _INVISIBLE_LETTERS or unicodedata.category(char) == "Cf" for char in text
    )


def must_show_something(text: str) -> str:
    """A pydantic validator: ``text`` unless it is blank (``is_blank``)."""
    if is_blank(text):
        raise ValueError("must not be blank (white space or invisible characters only)")
    return text


VisibleText = Annotated[str, AfterValidator(must_show_something)]
"""A name a person must be able to see: refused when blank, invisible characters included."""
