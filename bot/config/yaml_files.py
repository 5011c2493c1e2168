"""Reading the operator's YAML files strictly: one place for encoding, size, duplicate keys and
alias limits, so every config file (feeds, channels, watchlists) fails the same clear way.

- The file must be UTF-8 (a UTF-8 BOM is fine); UTF-16/32 and other encodings are named.
- A key given twice in one mapping is an error (PyYAML would silently keep the last one).
- Aliases (``*name``) are limited: at most ``MAX_ALIASES`` per document, and the document as
  expanded may be at most ``MAX_EXPANSION`` nodes larger than as written (a 600-byte "billion
  laughs" is refused at once, with a short message, before anything is built).
- Error messages are short: values are shown through ``brief``.
"""

from __future__ import annotations

import difflib
import re
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.domain.errors import ConfigError
from bot.domain.secrets import mask_secrets

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ALIASES = 100
MAX_EXPANSION = 100_000  # nodes an expanded document may have beyond the nodes written
MAX_MESSAGE = 300  # characters of a YAML parser message we show
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff",
         "UTF-32"), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


def brief(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about untrusted values."""
    if isinstance(value, (list, dict)) and len(value) > 20:  # no repr of a huge structure
        return f"a {type(value).__name__} of {len(value)} items"
    text = mask_secrets(repr(value))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def did_you_mean(key: Any, allowed: Iterable[str]) -> str:
    """``did you mean 'feeds'?`` or ``allowed: a, b`` for an unknown key."""
    allowed = list(allowed)
    close = difflib.get_close_matches(str(key), allowed, n=1)
    return f"did you mean {close[0]!r}?" if close else f"allowed: {', '.join(allowed)}"


_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_LOADER):  # type: ignore[valid-type,misc]
    """SafeLoader (libyaml's parser where PyYAML has it: a 100,000-company watchlist parses in
    a tenth of the time) that refuses duplicate keys; alias bombs are refused by
    ``_expanded_size`` before anything is built (see the module docstring)."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode):
                continue  # SafeLoader itself refuses unhashable keys
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {brief(key)} is given twice in one mapping",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


# an alias is "*" and an anchor name (at least one character that is neither a space nor , ] });
# a text without such a "*" (wildcard terms end in one: "chip*") has none: no walk, whose
# bookkeeping was 35 MB of a 100,000-company watchlist's peak memory
_MAY_ALIAS = re.compile(r"\*(?![\s,\]}]|\Z)")


def _expanded_size(root: Node) -> tuple[int, int]:
    """(nodes as written, nodes after expanding aliases); ConfigError on a recursive alias or
    more than ``MAX_ALIASES`` aliases (an alias is a second reference to a node)."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    aliases = 0

    def size(node: Node) -> int:
        nonlocal aliases
        if id(node) in sizes:
            aliases += 1
            if aliases > MAX_ALIASES:
                raise ConfigError(f"more than {MAX_ALIASES} aliases (*name); write the values "
                                  "out")
            return sizes[id(node)]
        if id(node) in active:
            raise ConfigError("a YAML alias refers to itself (recursive structure)")
        active.add(id(node))
        children: list[Node] = []
        if isinstance(node, SequenceNode):
            children = list(node.value)
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        total = 1 + sum(size(child) for child in children)
        active.discard(id(node))
        sizes[id(node)] = total
        return total

    expanded = size(root)
    return len(sizes), expanded


def _decode(raw: bytes, path: Path) -> str:
    for bom, name in _BOMS:
        if raw.startswith(bom):
            if name == "utf-8":
                raw = raw[len(bom):]
                break
            raise ConfigError(f"{path}: the file is {name} text, not UTF-8; save it as UTF-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} on line "
                          f"{line}); save the file as UTF-8") from None


class _Unusual(Exception):
    """The lean path met something it leaves to the full one (see ``_lean``)."""


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:int",
                         "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
                         "tag:yaml.org,2002:null", "tag:yaml.org,2002:timestamp"})


def _lean(text: str) -> Any:
    """The document built straight from libyaml's events, without the node tree (the tree of a
    100,000-company watchlist was ~90 MB at its peak, beside the built data). Only for the plain
    case: no anchors or aliases, no tags but those of plain scalars (text, numbers, booleans,
    null, dates), no merge keys, one document, keys that are text, numbers or booleans. Anything
    else (or any error) raises ``_Unusual``, and the full path, with its checks and its
    messages, parses the text again."""
    loader = StrictLoader(text)
    try:
        stack: list[tuple[Any, Any]] = []  # (container, pending key or _NO_KEY)
        root: Any = None
        documents = 0
        while True:
            event = loader.get_event()
            if isinstance(event, yaml.StreamEndEvent):
                return root
            if isinstance(event, (yaml.StreamStartEvent, yaml.DocumentEndEvent)):
                continue
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _Unusual
                continue
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
                raise _Unusual
            if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                value = stack.pop()[0]
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if event.tag not in (None, "!"):
                    raise _Unusual
                stack.append(([], _NO_KEY) if isinstance(event, yaml.SequenceStartEvent)
                             else ({}, _NO_KEY))
                continue
            elif isinstance(event, yaml.ScalarEvent):
                tag = event.tag
                if tag in (None, "!"):
                    tag = loader.resolve(ScalarNode, event.value, event.implicit)
                if tag not in _PLAIN_TAGS:
                    raise _Unusual
                value = loader.yaml_constructors[tag](
                    loader, ScalarNode(tag, event.value, None, None, event.style))
            else:
                raise _Unusual
            if not stack:
                root = value
                continue
            container, key = stack[-1]
            if isinstance(container, list):
                container.append(value)
            elif key is _NO_KEY:
                if not isinstance(value, (str, int, float, bool)) or value in container:
                    raise _Unusual  # (a key given twice: the full path names it)
                stack[-1] = (container, value)
            else:
                container[key] = value
                stack[-1] = (container, _NO_KEY)
    except (yaml.YAMLError, ValueError, TypeError, KeyError) as exc:
        raise _Unusual from exc
    finally:
        loader.dispose()


_NO_KEY = object()


def parse_yaml(text: str, path: Path) -> Any:
    """Parse one YAML document strictly; ConfigError naming the file, line and problem."""
    try:
        return _lean(text)
    except _Unusual:
        pass
    loader: StrictLoader | None = None
    try:
        loader = StrictLoader(text)
        root = loader.get_single_node()
        if root is None:
            return None
        written, expanded = _expanded_size(root) if _MAY_ALIAS.search(text) else (0, 0)
        if expanded - written > MAX_EXPANSION:
            raise ConfigError(f"{path}: aliases (*name) expand the document to {expanded} "
                              f"values; the limit is {written + MAX_EXPANSION}")
        return loader.construct_document(root)
    except RecursionError:
        raise ConfigError(f"{path}: the YAML is nested too deeply") from None
    except yaml.YAMLError as exc:
        message = str(exc).replace('in "<unicode string>", ', "")
        if "maximum nesting depth" in message:  # libyaml's own limit
            raise ConfigError(f"{path}: the YAML is nested too deeply") from None
        if len(message) > MAX_MESSAGE:
            message = message[:MAX_MESSAGE - 1] + "…"
        raise ConfigError(f"{path}: not valid YAML: {message}") from None
    except ConfigError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise ConfigError(f"{path}: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Any:
    """Read and parse a YAML file strictly (UTF-8, size cap, no duplicate keys, few aliases)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # never block on a FIFO or read a device
            raise ConfigError(f"{path}: not a regular file")
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:
        raise ConfigError(f"{path}: the file is larger than {max_bytes} bytes")
    return parse_yaml(_decode(raw, path), path)
