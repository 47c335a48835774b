"""The XML primitives: a tiny builder, the safe parser, escaping and timestamps."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from oortgate.errors import S3Error

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n'

# Characters XML 1.0 cannot carry even as references; they are dropped from text. Lone
# surrogates are the undecodable bytes of a request echoed back (headers are decoded
# with surrogateescape): they cannot be encoded as UTF-8 either.
_INVALID_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_INVALID_XML = re.compile(f"[{_INVALID_CHARS}]")
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;"})


_SPECIAL = re.compile(f'[&<>"\r{_INVALID_CHARS}]')  # anything escape() would change


def escape(text: str) -> str:
    if _SPECIAL.search(text) is None:  # most text: nothing to do, one scan
        return text
    return _INVALID_XML.sub("", text).translate(_ESCAPES)


def leaf(tag: str, text: str | int) -> str:
    """<tag>text</tag> as markup, for pre-rendered children (see Node.children)."""
    return f"<{tag}>{escape(str(text))}</{tag}>"


@dataclass(slots=True)
class Node:
    """A tiny element builder: children are Nodes, text is a string (never both). A
    child may also be a string of markup already rendered (long listings build their
    entries that way, without a Node per element)."""

    tag: str
    text: str | None = None
    children: list[Node | str] = field(default_factory=list)
    attrs: dict[str, str] = field(default_factory=dict)

    def add(self, tag: str, text: str | int | bool | None = None) -> Node:
        child = Node(tag, _text(text))
        self.children.append(child)
        return child

    def extend(self, nodes: Iterable[Node | str]) -> Node:
        self.children.extend(nodes)
        return self

    def render(self, out: list[str]) -> None:
        attrs = "".join(f' {k}="{escape(v)}"' for k, v in self.attrs.items())
        if self.children:
            out.append(f"<{self.tag}{attrs}>")
            for child in self.children:
                if isinstance(child, str):
                    out.append(child)
                else:
                    child.render(out)
            out.append(f"</{self.tag}>")
        elif self.text is None or self.text == "":
            out.append(
                f"<{self.tag}{attrs}></{self.tag}>" if self.text == "" else f"<{self.tag}{attrs}/>"
            )
        else:
            out.append(f"<{self.tag}{attrs}>{escape(self.text)}</{self.tag}>")


def _text(value: str | int | bool | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def document(root: Node, *, namespace: bool = True) -> bytes:
    if namespace:
        root.attrs.setdefault("xmlns", S3_NS)
    out = [HEADER]
    root.render(out)
    return "".join(out).encode("utf-8")


_SECONDS: dict[int, str] = {}  # "YYYY-MM-DDTHH:MM:SS" by epoch second (a listing's
# objects were often written within the same few seconds)


def timestamp(epoch: float) -> str:
    """ISO 8601 with milliseconds, as S3 listings show times."""
    # Rounded to the microsecond first, exactly as datetime.fromtimestamp does.
    fraction, whole = math.modf(epoch)
    second, micros = divmod(int(whole) * 1_000_000 + round(fraction * 1e6), 1_000_000)
    text = _SECONDS.get(second)
    if text is None:
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        text = _SECONDS[second] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{text}.{micros // 1000:03d}Z"


def error_document(code: str, message: str, fields: dict[str, str], request_id: str) -> bytes:
    root = Node("Error")
    root.add("Code", code)
    root.add("Message", message)
    for name, value in fields.items():
        root.add(name, value)
    root.add("RequestId", request_id)
    root.add("HostId", request_id)
    return document(root, namespace=False)


def parse(body: bytes) -> Element:
    """Parse an untrusted request body; namespaces are stripped from tags."""
    if not body.strip():
        raise S3Error("MalformedXML")
    try:
        root: Element = SafeET.fromstring(body)
    except Exception as exc:  # defusedxml raises several types, all mean "bad XML"
        raise S3Error("MalformedXML") from exc
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
    return root


def child_text(element: Element, tag: str) -> str | None:
    found = element.find(tag)
    return None if found is None else (found.text or "")
