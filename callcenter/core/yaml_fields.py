"""One way to read the YAML files people edit, and to check their fields.

Settings, practices, the policy, prompt catalogues, flows and the console's
wording are all YAML written by hand: each loader reads its file with
:func:`load_yaml` and its fields with :class:`Fields`, so "is required",
"unknown field" and "must be a whole number from 5 to 120" read the same
everywhere and every error names the field (and, through :func:`in_file`,
the file) in one line.  Each loader keeps its own exception type: the
reader raises what the loader's ``error`` factory makes.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable, Mapping
from pathlib import Path
from typing import Any, NoReturn

import yaml

#: libyaml's parser when PyYAML was built with it (several times faster), else the pure one.
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(SafeLoader):  # type: ignore[misc,valid-type]
    """A safe loader that refuses duplicate keys (the last one would silently win)."""


def _unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, Hashable):
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


class NotYaml(ValueError):
    """The text is not YAML: ``not valid YAML at line 3 (found unexpected end of stream)``."""

    def __init__(self, exc: yaml.YAMLError) -> None:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None)
        self.line: int | None = mark.line + 1 if mark is not None else None
        # The parser's own words when it has them (one line); else the kind of error.
        self.problem = " ".join(str(problem).split()) if problem else exc.__class__.__name__
        at = f" at line {self.line}" if self.line is not None else ""
        super().__init__(f"not valid YAML{at} ({self.problem})")


def parse_yaml(text: str, *, unique_keys: bool = False) -> Any:
    """The data of a YAML text (None when empty); raises :class:`NotYaml`.

    ``unique_keys`` refuses a key given twice in one mapping: a file whose
    mistakes must never pass silently (the retention policy) asks for it.
    """
    loader = _UniqueKeyLoader if unique_keys else SafeLoader
    try:
        return yaml.load(text, Loader=loader)  # a SafeLoader or its subclass: safe
    except yaml.YAMLError as exc:
        raise NotYaml(exc) from None


def load_yaml(path: Path, *, unique_keys: bool = False) -> Any:
    """The data of a UTF-8 YAML file; :class:`NotYaml`, or ``OSError`` when unreadable."""
    return parse_yaml(path.read_text(encoding="utf-8"), unique_keys=unique_keys)


class FieldError(ValueError):
    """A field is wrong: ``where`` names it (``transfer.ring_seconds``), ``message`` says why."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.message = message


#: Makes the exception a loader raises from the field's name and what is wrong with it.
ErrorFactory = Callable[[str, str], Exception]


def in_file(error: Callable[[str], Exception], source: str) -> ErrorFactory:
    """Errors as ``error("<source>: <field>: <message>")``: one line naming file and field."""

    def make(where: str, message: str) -> Exception:
        return error(f"{source}: {where}: {message}" if where else f"{source}: {message}")

    return make


_ABSENT: Any = object()


class Fields:
    """The fields of one mapping of a YAML file, read one by one with checked types.

    ``where`` is the mapping's own name (``transfer``; empty at the top of a
    file): the field ``ring_seconds`` is then named ``transfer.ring_seconds``.
    ``missing`` and ``wrong`` word the two common failures; ``{what}`` is
    what the field should be ("a text", "true or false").  A field holding
    ``null`` counts as absent, except for :meth:`whole`: a number left blank
    is a mistake, not a default.
    """

    def __init__(
        self,
        data: object,
        where: str = "",
        *,
        shape: str = "a mapping",
        error: ErrorFactory = FieldError,
        missing: str = "is required",
        wrong: str = "must be {what}",
    ) -> None:
        self.where = where
        self.error = error
        self.missing = missing
        self.wrong = wrong
        if not isinstance(data, Mapping):
            self.fail(None, wrong.format(what=shape))
        self.data: Mapping[Any, Any] = data

    # -- naming and failing ----------------------------------------------------------
    def at(self, key: object) -> str:
        """The full name of a field of this mapping."""
        if key is None:
            return self.where
        return f"{self.where}.{key}" if self.where else str(key)

    def fail(self, key: object, message: str) -> NoReturn:
        raise self.error(self.at(key), message)

    # -- the mapping as a whole ------------------------------------------------------
    def refuse_unknown(
        self, known: Collection[str], *, list_known: bool = False, hint: str = ""
    ) -> None:
        """Fail on the first key (sorted) not in ``known``: a misspelt key never falls back.

        ``list_known`` names the known fields in the error; ``hint`` adds a word of advice.
        """
        extra = sorted(str(key) for key in self.data if key not in known)
        if extra:
            expected = f" (expected: {', '.join(known)})" if list_known else ""
            self.fail(extra[0], f"unknown field{expected}{f' ({hint})' if hint else ''}")

    def section(self, key: str, shape: str = "a mapping", *, required: bool = False) -> Fields:
        """The mapping at ``key``, read the same way (an absent optional one is empty)."""
        value = self.data.get(key)
        if value is None:
            if required:
                self.fail(key, self.missing.format(what=shape))
            value = {}
        return Fields(
            value,
            self.at(key),
            shape=shape,
            error=self.error,
            missing=self.missing,
            wrong=self.wrong,
        )

    # -- one field -----------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """The raw value, unchecked (``default`` when absent or null)."""
        value = self.data.get(key)
        return default if value is None else value

    def value(
        self,
        key: str,
        kind: type | tuple[type, ...] = object,
        what: str = "",
        default: Any = _ABSENT,
    ) -> Any:
        """A value of ``kind`` (``bool`` is no whole number); required without ``default``."""
        value = self.data.get(key)
        if value is None:
            if default is _ABSENT:
                self.fail(key, self.missing.format(what=what))
            return default
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            kinds = ()
        if not isinstance(value, kinds):
            self.fail(key, self.wrong.format(what=what))
        return value

    def text(self, key: str, *, required: bool = True) -> str | None:
        """A text; an empty one counts as absent."""
        if self.data.get(key) == "":
            if required:
                self.fail(key, self.missing.format(what="a text"))
            return None
        text: str | None = self.value(key, str, "a text", _ABSENT if required else None)
        return text

    def flag(self, key: str, default: Any = _ABSENT) -> bool:
        """``true`` or ``false``."""
        return bool(self.value(key, bool, "true or false", default))

    def whole(
        self,
        key: str,
        low: int = 0,
        high: int | None = None,
        *,
        default: Any = _ABSENT,
        note: str = "",
        unit: str = "",
    ) -> int:
        """A whole number from ``low`` to ``high`` (no upper bound without ``high``).

        ``note`` follows the range in the error (``" (0: no limit)"``); ``unit``
        names what is counted (``days``) when there is no upper bound.
        """
        of_unit = f" of {unit}" if unit else ""
        value: Any = self.data.get(key) if key in self.data else _ABSENT
        if value is _ABSENT and default is not _ABSENT:
            value = default
        if value is _ABSENT:
            self.fail(key, self.missing.format(what=f"a whole number{of_unit}"))
        good = isinstance(value, int) and not isinstance(value, bool) and value >= low
        if high is None:
            if not good:
                self.fail(key, f"{value!r} is not a whole number{of_unit} ({low} or more)")
        elif not good or value > high:
            self.fail(key, self.wrong.format(what=f"a whole number from {low} to {high}{note}"))
        return int(value)

    def one_of(self, key: str, choices: Collection[Any], default: Any = _ABSENT) -> Any:
        """One of ``choices``; two are worded ``must be 'a' or 'b'``, more are listed."""
        value = self.data.get(key)
        if value is None and default is not _ABSENT:
            return default
        if value not in choices:
            if len(choices) == 2:
                first, second = choices
                self.fail(key, self.wrong.format(what=f"{first!r} or {second!r}"))
            self.fail(key, f"{value!r} is not one of {', '.join(map(str, choices))}")
        return value
