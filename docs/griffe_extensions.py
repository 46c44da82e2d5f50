"""The griffe extension used by the API reference (build tooling, not part of the library).

``SphinxConventions``
    Sphinx (and Napoleon) habits of the library's source, made to work with mkdocstrings:

    - Attributes are documented by ``#:`` comments on the lines above them; these become the
      attributes' docstrings.
    - Doctest sections are headed ``Example:``, which Napoleon accepts beside ``Examples:`` but
      griffe's Google parser renders as a plain admonition; they are read as ``Examples:`` so
      that the doctests render as code.
    - Docstrings refer to other objects with Sphinx roles (``:class:`Potential```,
      ``:func:`~rewarddesign.shaping.potentials.as_potential```). These become mkdocstrings
      cross-references, resolved in the scope of the object that holds the docstring, or inline
      code for names the reference does not render (private names and objects without a
      docstring).
    - A reST literal-block marker ``::`` at the end of a line becomes a plain colon.

The library's files are not changed: the extension acts on griffe's in-memory model only.
It is configured in ``mkdocs.yml``.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|exc|obj):`(~?)([^`]+)`")
_LITERAL_MARKER = re.compile(r"(\S)::$", re.MULTILINE)
_EXAMPLE_HEADING = re.compile(r"^(\s*)Example:$", re.MULTILINE)


class SphinxConventions(griffe.Extension):
    """Read ``#:`` comments and ``Example:`` sections, and rewrite Sphinx roles as cross-references."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        self._collection = loader.modules_collection
        for obj in self._objects(pkg):
            if obj.is_attribute and obj.docstring is None:
                self._comment_docstring(obj, loader)
        for obj in self._objects(pkg):
            if obj.docstring is not None:
                obj.docstring.value = self._rewrite(obj, obj.docstring.value)

    def _objects(self, obj: griffe.Object) -> list[griffe.Object]:
        found = [obj]
        for member in obj.members.values():
            if not member.is_alias:
                found.extend(self._objects(member))
        return found

    @staticmethod
    def _comment_docstring(attr: griffe.Attribute, loader: griffe.GriffeLoader) -> None:
        if not attr.lineno or attr.filepath not in loader.lines_collection:
            return
        lines = loader.lines_collection[attr.filepath]
        comment: list[str] = []
        index = attr.lineno - 2  # the line above the assignment (line numbers start at 1)
        while index >= 0 and lines[index].strip().startswith("#:"):
            comment.insert(0, lines[index].strip()[2:].strip())
            index -= 1
        if comment:
            attr.docstring = griffe.Docstring(
                "\n".join(comment),
                lineno=index + 2,
                endlineno=attr.lineno - 1,
                parent=attr,
                parser=loader.docstring_parser,
                parser_options=loader.docstring_options,
            )

    def _rewrite(self, owner: griffe.Object, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            short, target = match.group(1) == "~", match.group(2)
            title = target.rsplit(".", 1)[-1] if short else target
            path = self._resolve(owner, target)
            return f"[`{title}`][{path}]" if path else f"`{title}`"

        text = _EXAMPLE_HEADING.sub(r"\1Examples:", text)
        return _LITERAL_MARKER.sub(r"\1:", _ROLE.sub(replace, text))

    def _resolve(self, owner: griffe.Object, target: str) -> str | None:
        """The path of the documented object ``target`` names, or None if the reference does not show it."""
        first, _, rest = target.partition(".")
        try:
            path = target if first == owner.package.name else owner.resolve(first) + (f".{rest}" if rest else "")
            obj = self._collection.get_member(path)
            while obj.is_alias:
                path = obj.target_path
                obj = self._collection.get_member(path)
        except (griffe.NameResolutionError, griffe.AliasResolutionError, KeyError, ValueError):
            return None
        if obj.name.startswith("_") or (not obj.is_module and obj.docstring is None):
            return None
        return path
