"""Enumerations with a translated label for each member."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, TypeVar

E = TypeVar("E", bound="LabelledEnum")

_LABELS: dict[type, Mapping[Any, Any]] = {}


class LabelledEnum(enum.Enum):
    """Stored by name; shown to users through ``label`` in their language."""

    @property
    def label(self) -> str:
        return str(_LABELS[type(self)][self])


def with_labels(enum_cls: type[E], labels: Mapping[E, Any]) -> type[E]:
    """Attach lazily translated labels; every member must have one."""
    missing = set(enum_cls) - set(labels)
    if missing:
        names = sorted(member.name for member in missing)
        raise TypeError(f"{enum_cls.__name__} members without a label: {names}")
    _LABELS[enum_cls] = labels
    return enum_cls
