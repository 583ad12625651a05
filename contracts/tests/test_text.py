"""What counts as a blank name."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from contracts.text import VisibleText, is_blank


@pytest.mark.parametrize(
    "text",
    ["", " ", "\t\n", "\u00a0", "\u3000", "\u200b", "\ufeff", "\u200c\u200d", "\u2060", "\u3164", "\u2800"],
)
def test_white_space_and_invisible_characters_alone_are_blank(text: str) -> None:
    assert is_blank(text)


@pytest.mark.parametrize("text", ["a", " a ", "\u200bx", "\u00e9", "\u0301", "\U0001f600", "-", "."])
def test_anything_visible_is_not_blank(text: str) -> None:
    assert not is_blank(text)


class _Named(BaseModel):
    name: VisibleText


def test_a_visible_text_field_refuses_a_blank_one_and_keeps_the_rest_as_given() -> None:
    assert _Named(name=" Acme\u200b ").name == " Acme\u200b "
    with pytest.raises(ValidationError, match="must not be blank"):
        _Named(name="\u200b\u200b")
