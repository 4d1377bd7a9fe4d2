"""Messages of a fixed shape written from templates: the hub's hot path sends thousands.

A template is what a message builder writes for one shape of input, cut where the input's
text lands. It is made by running the builder itself once on marker input (each hole a
distinctive value whose text is looked up in the output), so the builder stays the one
definition of the message, XSD-validated as always; filling the template is one
`str.format` of the escaped values, a few microseconds against the ~100 of building the
lxml tree, serialising it and validating it again. Tests prove `fill(x) == build(x)` on random input
(tests/unit/test_iso20022_template.py).

What the input's *shape* is (which optional elements are present, codes that choose fixed
text) is the caller's to say: one template per shape, made on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

Input = TypeVar("Input")

# libxml2's escaping of element text, as lxml writes it with encoding="UTF-8": the three
# markup characters and a carriage return; everything else (non-ASCII too) is written as is.
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;"))


def escape_text(text: str) -> str:
    for character, entity in _ESCAPES:
        if character in text:
            text = text.replace(character, entity)
    return text


class Template(Generic[Input]):
    """`build`'s output for `markers`' shape, with a hole wherever a hole's text appears."""

    __slots__ = ("_format", "_holes")

    def __init__(
        self,
        build: Callable[[Input], bytes],
        markers: Input,
        holes: Sequence[Callable[[Input], str]],
    ) -> None:
        text = build(markers).decode()
        # A hole whose marker is empty is not in this shape (an optional element left out).
        needles = [escape_text(hole(markers)) for hole in holes]
        for index, needle in enumerate(needles):
            others = needles[:index] + needles[index + 1 :]
            if needle and any(needle in other for other in others):
                raise ValueError(f"marker {index} ({needle!r}) is inside another")
        cuts: list[tuple[int, int, int]] = []
        for index, needle in enumerate(needles):
            if not needle:
                continue
            start = text.find(needle)
            if start < 0:
                raise ValueError(f"marker {index} ({needle!r}) is not in the built message")
            while start >= 0:
                cuts.append((start, start + len(needle), index))
                start = text.find(needle, start + len(needle))
        cuts.sort()
        # A str.format pattern: the fixed text with its braces doubled, "{n}" for hole n,
        # so that filling is one call into C.
        pattern, end = [], 0
        for start, stop, index in cuts:
            if start < end:
                raise ValueError(f"marker {index} ({needles[index]!r}) overlaps another")
            pattern += [_literal(text[end:start]), f"{{{index}}}"]
            end = stop
        pattern.append(_literal(text[end:]))
        self._format = "".join(pattern)
        self._holes = tuple(holes)

    def fill(self, values: Input) -> bytes:
        return self._format.format(*[escape_text(hole(values)) for hole in self._holes]).encode()


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


class Templates(Generic[Input]):
    """One `Template` per shape of input, made on first use; `write` is the builder's twin.

    `check` is run on every input before its template is filled: the validation the
    builder's model does (lengths, patterns, codes), so that what a template writes is
    what the builder would have written or refused.
    """

    def __init__(
        self,
        build: Callable[[Input], bytes],
        holes: Sequence[Callable[[Input], str]],
        shape: Callable[[Input], Hashable],
        markers: Callable[[Input], Input],
        check: Callable[[Input], object],
    ) -> None:
        self.build = build
        self._holes = holes
        self._shape = shape
        self._markers = markers
        self._check = check
        self._made: dict[Hashable, Template[Input]] = {}
        self._lock = threading.Lock()

    def write(self, values: Input) -> bytes:
        self._check(values)
        shape = self._shape(values)
        template = self._made.get(shape)
        if template is None:
            with self._lock:
                template = self._made.get(shape)
                if template is None:
                    template = Template(self.build, self._markers(values), self._holes)
                    self._made[shape] = template
        return template.fill(values)
