"""YAML to Python data straight from the parser's events, without a node tree.

`yaml.load` composes the whole document into nodes first and keeps them while it constructs;
for a province's registry (200,000 points) the nodes took about 800 MB and most of the load
time. Built from libyaml's events, the same data takes a quarter of the memory and about half
the time. What a registry file can hold is supported: mappings, sequences, plain and quoted
scalars resolved as the safe loader resolves them (int, float, bool, null, timestamps...),
anchors and aliases, and merge keys (`<<: *defaults`, explicit keys winning). The result equals
`yaml.safe_load` (tests/unit/storage/test_yaml_events.py); line numbers for messages come from
a separate compose, only when there is a problem to report (registry_files.py).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml import events
from yaml.constructor import ConstructorError
from yaml.nodes import ScalarNode

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"
_MERGE_KEY = object()  # the pending key of a mapping is a merge (<<)
_PLAIN_TAGS = (None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


class _Collection:
    """A mapping or sequence being built, with its pending key and merge sources."""

    __slots__ = ("key", "merges", "pending", "value")

    def __init__(self, value: dict[Any, Any] | list[Any]) -> None:
        self.value = value
        self.pending = False  # a mapping's key was read, its value not yet
        self.key: Any = None
        self.merges: list[dict[Any, Any]] = []

    def add(self, item: Any, is_merge_key: bool = False) -> None:
        if isinstance(self.value, list):
            self.value.append(item)
        elif not self.pending:
            self.key = _MERGE_KEY if is_merge_key else item
            self.pending = True
        else:
            if self.key is _MERGE_KEY:
                sources = item if isinstance(item, list) else [item]
                if not all(isinstance(s, dict) for s in sources):
                    raise ConstructorError(None, None, "a merge key (<<) needs mappings")
                self.merges.extend(sources)
            else:
                self.value[self.key] = item
            self.pending = False

    def close(self) -> dict[Any, Any] | list[Any]:
        if isinstance(self.value, dict):
            for source in self.merges:
                for k, v in source.items():
                    self.value.setdefault(k, v)
        return self.value


def load(text: str) -> Any:
    """The first document of `text` as Python data, like `yaml.safe_load`."""
    loader = _Loader(text)
    try:
        return _build(loader)
    finally:
        loader.dispose()


def _scalar(loader: Any, ev: events.ScalarEvent) -> tuple[Any, bool]:
    start: Any = ev.start_mark  # libyaml's own Mark type, which the stubs do not name
    end: Any = ev.end_mark
    tag = ev.tag
    if tag is None or tag == "!":
        tag = loader.resolve(ScalarNode, ev.value, ev.implicit)
    if tag == _MERGE:
        return None, True
    construct = loader.yaml_constructors.get(tag)
    if construct is None:
        raise ConstructorError(None, None, f"unsupported tag {tag!r}", start)
    node = ScalarNode(tag, ev.value, start, end, ev.style)
    return construct(loader, node), False


def _build(loader: Any) -> Any:
    stack: list[_Collection] = []
    anchors: dict[str, Any] = {}
    root: Any = None
    done = False

    def put(value: Any, is_merge_key: bool = False) -> None:
        nonlocal root, done
        if stack:
            stack[-1].add(value, is_merge_key)
        else:
            root, done = value, True

    while not done:
        ev = loader.get_event()
        mark: Any = getattr(ev, "start_mark", None)
        if ev is None or isinstance(ev, events.StreamEndEvent | events.DocumentEndEvent):
            break
        if isinstance(ev, events.ScalarEvent):
            value, is_merge_key = _scalar(loader, ev)
            if ev.anchor:
                anchors[ev.anchor] = value
            put(value, is_merge_key)
        elif isinstance(ev, events.MappingStartEvent | events.SequenceStartEvent):
            if ev.tag not in _PLAIN_TAGS:
                raise ConstructorError(None, None, f"unsupported tag {ev.tag!r}", mark)
            container: dict[Any, Any] | list[Any] = (
                {} if isinstance(ev, events.MappingStartEvent) else []
            )
            if ev.anchor:
                anchors[ev.anchor] = container
            stack.append(_Collection(container))
        elif isinstance(ev, events.MappingEndEvent | events.SequenceEndEvent):
            put(stack.pop().close())
        elif isinstance(ev, events.AliasEvent):
            if ev.anchor not in anchors:
                raise ConstructorError(None, None, f"found undefined alias {ev.anchor!r}", mark)
            put(anchors[ev.anchor])
    return root
