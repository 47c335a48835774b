"""The S3 model inside botocore, to check our XML against what the SDKs expect: what
botocore's own parser makes of a response body, which elements of it the model does not
know, and the request bodies botocore's own serializer sends."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import botocore.session
from botocore.model import ListShape, OperationModel, Shape, StructureShape
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

MODEL = botocore.session.get_session().get_service_model("s3")


def operation(name: str) -> OperationModel:
    return MODEL.operation_model(name)


def parsed(body: bytes, name: str) -> dict[str, Any]:
    """What botocore (so boto3) makes of ``body`` as the response of operation ``name``."""
    response = {"body": body, "headers": {}, "status_code": 200}
    shape = operation(name).output_shape
    assert shape is not None, name
    out: dict[str, Any] = create_parser("rest-xml").parse(response, shape)
    out.pop("ResponseMetadata", None)
    return out


def request_body(name: str, params: dict[str, Any]) -> bytes:
    """The body botocore serializes for operation ``name`` called with ``params``."""
    request = create_serializer("rest-xml").serialize_to_request(params, operation(name))
    body: bytes = request["body"]
    return body


def _local(tag: str) -> str:
    return tag.split("}", 1)[-1]


def _body_shape(name: str) -> StructureShape:
    shape = operation(name).output_shape
    assert isinstance(shape, StructureShape)
    payload = shape.serialization.get("payload")
    if payload:
        inner = shape.members[payload]
        assert isinstance(inner, StructureShape)
        return inner
    return shape


def unknown_elements(body: bytes, name: str) -> list[str]:
    """Paths of the elements in ``body`` that the model of ``name``'s response lacks (the
    SDKs silently drop those: a misspelt element is a value lost)."""
    root = ET.fromstring(body)
    out: list[str] = []
    _walk(root, _body_shape(name), _local(root.tag), out)
    return out


def _children(shape: StructureShape) -> dict[str, tuple[Shape, bool]]:
    """Element name -> (shape of one such element, whether that is a list's item)."""
    found: dict[str, tuple[Shape, bool]] = {}
    for member_name, member in shape.members.items():
        if member.serialization.get("location"):  # a header or the status, not the body
            continue
        tag = member.serialization.get("name", member_name)
        if isinstance(member, ListShape) and member.serialization.get("flattened"):
            found[member.member.serialization.get("name", tag)] = (member.member, True)
            found.setdefault(tag, (member.member, True))
        else:
            found[tag] = (member, False)
    return found


def _walk(node: ET.Element, shape: Shape, path: str, out: list[str]) -> None:
    if isinstance(shape, ListShape):
        item = shape.member.serialization.get("name", "member")
        for child in node:
            if _local(child.tag) != item:
                out.append(f"{path}/{_local(child.tag)}")
            else:
                _walk(child, shape.member, f"{path}/{item}", out)
        return
    if not isinstance(shape, StructureShape):
        if len(node):
            out.append(f"{path}/*")  # a scalar with elements in it
        return
    children = _children(shape)
    for child in node:
        tag = _local(child.tag)
        if tag not in children:
            out.append(f"{path}/{tag}")
        else:
            _walk(child, children[tag][0], f"{path}/{tag}", out)
