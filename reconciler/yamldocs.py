"""Hostile-input-safe YAML parsing that keeps source positions.

A leaf module: called by `reconciler.source.loader` for every repository file and by
validation for YAML embedded in ConfigMaps. PyYAML's C composer (libyaml) builds the node
graph with marks; this module converts that graph to plain Python values itself, so it can

- record where every value was written (JSON pointer → `SourceLocation`),
- reject duplicate keys (PyYAML silently keeps the last one),
- bound nesting depth, and bound the nodes produced through aliases, so a billion-laughs
  document is refused after `max_alias_expansion` nodes instead of being expanded,
- refuse recursive aliases and custom tags.

Scalars keep YAML 1.1 typing (as Kubernetes' YAML reader does); timestamps and binary values
stay strings, as they do once Kubernetes converts YAML to JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from schemas.diagnostics import Diagnostic, Severity, SourceLocation
from schemas.kinds import Limits

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT = (_TAG + t for t in ("str", "null", "bool", "int", "float"))
_STRING_LIKE = {_TAG + "timestamp", _TAG + "binary", _TAG + "value"}
_SEQ, _MAP, _MERGE = _TAG + "seq", _TAG + "map", _TAG + "merge"

RULE_SYNTAX = "yaml-syntax"
RULE_DUPLICATE_KEY = "yaml-duplicate-key"
RULE_DEPTH = "yaml-too-deep"
RULE_ALIAS = "yaml-alias-expansion"
RULE_RECURSIVE = "yaml-recursive-alias"
RULE_TAG = "yaml-unsupported-tag"
RULE_KEY = "yaml-complex-key"
RULE_DOCUMENTS = "too-many-documents"


@dataclass(frozen=True)
class YamlDocument:
    """One YAML document: its value, where it starts, and where each of its values was written."""

    data: Any
    location: SourceLocation
    positions: dict[str, SourceLocation] = field(default_factory=dict)
    # JSON pointer of a literal block scalar (`|`) → where its first text line starts.
    block_starts: dict[str, SourceLocation] = field(default_factory=dict)


@dataclass(frozen=True)
class Origin:
    """Where parsed text sits in its file: 0-based line offset and column offset (for YAML
    embedded in a block scalar of another document)."""

    file: str
    line_offset: int = 0
    col_offset: int = 0


class _Abort(Exception):
    """Stops converting the current document after a fatal finding."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def escape_pointer_token(token: str) -> str:
    """RFC 6901 escaping of one JSON-pointer token."""
    if "~" in token or "/" in token:
        return token.replace("~", "~0").replace("/", "~1")
    return token


def parse_documents(
    text: str, origin: Origin, limits: Limits, max_documents: int | None = None
) -> tuple[list[YamlDocument], list[Diagnostic]]:
    """Parse every document of `text`; stops at the first syntax error or limit breach.
    Empty documents are skipped. `max_documents` defaults to `limits.max_documents`."""
    budget = limits.max_documents if max_documents is None else max_documents
    documents: list[YamlDocument] = []
    diagnostics: list[Diagnostic] = []
    lines: list[str] | None = None
    try:
        for node in yaml.compose_all(text, Loader=_Loader):
            if node is None or _is_empty(node):
                continue
            if len(documents) >= budget:
                diagnostics.append(
                    _diag(
                        origin,
                        node.start_mark,
                        f"more than {limits.max_documents} documents in the repository "
                        "(raise limits.maxDocuments in gpuctl.yaml if this is intended)",
                        RULE_DOCUMENTS,
                    )
                )
                break
            if lines is None:
                lines = text.splitlines()
            converter = _Converter(origin, limits, lines, diagnostics)
            try:
                data = converter.convert(node, "", 1)
            except _Abort as abort:
                diagnostics.append(abort.diagnostic)
                continue
            except RecursionError:  # limits.maxDepth set above what the interpreter can recurse
                message = "nesting too deep to read; lower the nesting (or limits.maxDepth in gpuctl.yaml)"
                diagnostics.append(_diag(origin, node.start_mark, message, RULE_DEPTH))
                continue
            documents.append(
                YamlDocument(data, _loc(origin, node.start_mark), converter.positions, converter.block_starts)
            )
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        problem = err.problem or "invalid YAML"
        context = f" ({err.context})" if err.context else ""
        # libyaml refuses nesting beyond its own bound (1000) while parsing, before we see it.
        rule = RULE_DEPTH if "nesting depth" in problem else RULE_SYNTAX
        diagnostics.append(_diag(origin, mark, f"YAML syntax error: {problem}{context}", rule))
    except yaml.YAMLError as err:  # reader errors (control characters) carry no problem_mark
        diagnostics.append(_diag(origin, None, f"YAML error: {err}", RULE_SYNTAX))
    return documents, diagnostics


def _is_empty(node: yaml.Node) -> bool:
    """An empty document (`---` followed by nothing), which kubectl skips as well."""
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL and node.value == ""


class _Converter:
    """Turns one composed node graph into Python values, recording positions."""

    def __init__(self, origin: Origin, limits: Limits, lines: list[str], sink: list[Diagnostic]) -> None:
        self.origin = origin
        self.limits = limits
        self.lines = lines
        self.sink = sink
        self.positions: dict[str, SourceLocation] = {}
        self.block_starts: dict[str, SourceLocation] = {}
        self._seen: set[int] = set()
        self._active: set[int] = set()
        self._alias_nodes = 0
        self._alias_site: yaml.Mark | None = None

    def convert(
        self,
        node: yaml.Node,
        pointer: str,
        depth: int,
        via_alias: bool = False,
        site: yaml.Mark | None = None,
    ) -> Any:
        """`site` is where the reference to `node` is written (a key, or the enclosing sequence),
        which is where alias findings are reported: an alias node carries its anchor's marks."""
        key = id(node)
        if key in self._active:
            raise _Abort(
                _diag(
                    self.origin,
                    site or node.start_mark,
                    "recursive alias (an anchor contains itself)",
                    RULE_RECURSIVE,
                )
            )
        if key in self._seen and not via_alias:
            via_alias = True
            self._alias_site = site or node.start_mark
        self._seen.add(key)
        if via_alias:
            self._alias_nodes += 1
            if self._alias_nodes > self.limits.max_alias_expansion:
                raise _Abort(
                    _diag(
                        self.origin,
                        self._alias_site or node.start_mark,
                        f"aliases expand to more than {self.limits.max_alias_expansion} nodes "
                        "(a billion-laughs document?); limits.maxAliasExpansion in gpuctl.yaml "
                        "sets the bound",
                        RULE_ALIAS,
                    )
                )
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, pointer)
        if depth > self.limits.max_depth:
            raise _Abort(
                _diag(
                    self.origin,
                    node.start_mark,
                    f"nesting deeper than {self.limits.max_depth} levels (limits.maxDepth in gpuctl.yaml)",
                    RULE_DEPTH,
                )
            )
        self._active.add(key)
        try:
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, pointer, depth, via_alias)
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, pointer, depth, via_alias)
        finally:
            self._active.discard(key)

    def _scalar(self, node: yaml.ScalarNode, pointer: str) -> Any:
        tag = node.tag
        if node.style == "|" and pointer:
            self.block_starts[pointer] = self._block_start(node)
        if tag == _STR or tag in _STRING_LIKE:
            return node.value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return _CONSTRUCTOR.construct_yaml_bool(node)
        if tag == _INT:
            return _CONSTRUCTOR.construct_yaml_int(node)
        if tag == _FLOAT:
            return _CONSTRUCTOR.construct_yaml_float(node)
        raise _Abort(_diag(self.origin, node.start_mark, f"unsupported YAML tag {tag!r}", RULE_TAG))

    def _sequence(self, node: yaml.SequenceNode, pointer: str, depth: int, via_alias: bool) -> list[Any]:
        if node.tag != _SEQ:
            raise _Abort(_diag(self.origin, node.start_mark, f"unsupported YAML tag {node.tag!r}", RULE_TAG))
        items: list[Any] = []
        for index, child in enumerate(node.value):
            child_pointer = f"{pointer}/{index}"
            self.positions[child_pointer] = _loc(self.origin, child.start_mark)
            items.append(self.convert(child, child_pointer, depth + 1, via_alias, node.start_mark))
        return items

    def _mapping(self, node: yaml.MappingNode, pointer: str, depth: int, via_alias: bool) -> dict[str, Any]:
        if node.tag != _MAP:
            raise _Abort(_diag(self.origin, node.start_mark, f"unsupported YAML tag {node.tag!r}", RULE_TAG))
        result: dict[str, Any] = {}
        written: dict[str, yaml.Node] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Abort(
                    _diag(
                        self.origin, key_node.start_mark, "mapping keys must be scalars (strings)", RULE_KEY
                    )
                )
            key = str(key_node.value)
            if key in written:
                first = written[key].start_mark.line + 1 + self.origin.line_offset
                self.sink.append(
                    _diag(
                        self.origin,
                        key_node.start_mark,
                        f"duplicate key {key!r} (first written on line {first}); YAML readers keep only one",
                        RULE_DUPLICATE_KEY,
                    )
                )
                continue
            written[key] = key_node
            child_pointer = f"{pointer}/{escape_pointer_token(key)}"
            self.positions[child_pointer] = _loc(self.origin, key_node.start_mark)
            result[key] = self.convert(value_node, child_pointer, depth + 1, via_alias, key_node.start_mark)
        for merge in merges:
            self._merge(merge, result, pointer, depth, via_alias)
        return result

    def _merge(
        self, node: yaml.Node, into: dict[str, Any], pointer: str, depth: int, via_alias: bool
    ) -> None:
        """`<<: *base` (or a list of them): keys written explicitly win over merged ones."""
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise _Abort(
                    _diag(
                        self.origin,
                        source.start_mark,
                        "a merge key (<<) needs a mapping or a list of mappings",
                        RULE_KEY,
                    )
                )
            merged = self.convert(source, pointer, depth, via_alias, node.start_mark)
            for key, value in merged.items():
                into.setdefault(key, value)

    def _block_start(self, node: yaml.ScalarNode) -> SourceLocation:
        """Where the text of a literal block scalar begins: the line after its `|` header,
        at the indentation of its first non-blank line (libyaml strips that indentation)."""
        header = node.start_mark.line
        indent = 0
        for index in range(header + 1, min(len(self.lines), node.end_mark.line + 1)):
            line = self.lines[index]
            if line.strip():
                indent = len(line) - len(line.lstrip(" "))
                break
        return SourceLocation(
            self.origin.file, header + 2 + self.origin.line_offset, indent + 1 + self.origin.col_offset
        )


def _loc(origin: Origin, mark: yaml.Mark | None) -> SourceLocation:
    if mark is None:
        return SourceLocation(origin.file, 1 + origin.line_offset, 1)
    return SourceLocation(
        origin.file, mark.line + 1 + origin.line_offset, mark.column + 1 + origin.col_offset
    )


def _diag(origin: Origin, mark: yaml.Mark | None, message: str, rule: str) -> Diagnostic:
    return Diagnostic(_loc(origin, mark), Severity.ERROR, message, rule)
