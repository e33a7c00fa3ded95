"""Enums whose members carry the zh-CN label people read.

A member is declared ``name = "value", "标签"``: its value is the plain string stored
in the database (Piccolo's ``choices=`` and the migrations see only the value), and
``member.label`` is what pages, sheets and messages show. One declaration, so a value
can never lack its label.
"""

from __future__ import annotations

import enum
from typing import Self


class LabelledEnum(enum.StrEnum):
    """A ``StrEnum`` with a ``label`` (zh-CN) on every member."""

    label: str

    def __new__(cls, value: str, label: str) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def label_of(cls, value: str) -> str:
        """The label of ``value``, or ``value`` itself when no member has it (old rows,
        values from elsewhere are shown as they are rather than failing the page)."""
        try:
            return cls(value).label
        except ValueError:
            return value
