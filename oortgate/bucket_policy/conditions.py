"""A policy statement's Condition block: its operators, parsed and evaluated. Pure.

A condition compares the values a request carries under a key (``aws:SourceIp``,
``s3:prefix``...) with the policy's values. As AWS evaluates them:

- several values of one key in the policy: any may match (OR); several keys, several
  operators: all must hold (AND);
- a key the request does not carry: a positive operator (StringEquals) is false, a
  negated one (StringNotEquals, NotIpAddress) is true, ``...IfExists`` is true, ``Null``
  tests exactly that; ``ForAllValues:`` is true and ``ForAnyValue:`` false;
- ``ForAnyValue:`` / ``ForAllValues:`` compare each of a multi-valued key's values.
"""

from __future__ import annotations

import functools
import ipaddress
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from oortgate.bucket_policy.actions import glob_match

Context = Mapping[str, tuple[str, ...]]  # condition key, in lower case -> its values


class PolicyError(ValueError):
    """A policy AWS would refuse: the message is AWS's MalformedPolicy message."""


def _string_equals(actual: str, wanted: str) -> bool:
    return actual == wanted


def _string_equals_ignore_case(actual: str, wanted: str) -> bool:
    return actual.casefold() == wanted.casefold()


def _string_like(actual: str, wanted: str) -> bool:
    return glob_match(wanted, actual)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def match(actual: str, wanted: str) -> bool:
        a, w = _number(actual), _number(wanted)
        return a is not None and w is not None and compare(a, w)

    return match


def epoch(text: str) -> float | None:
    """A date as AWS accepts it in a policy: ISO 8601 (a date, or a time with a zone)
    or epoch seconds."""
    number = _number(text)
    if number is not None:
        return number
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _date(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def match(actual: str, wanted: str) -> bool:
        a, w = epoch(actual), epoch(wanted)
        return a is not None and w is not None and compare(a, w)

    return match


def _bool(actual: str, wanted: str) -> bool:
    return actual.lower() == wanted.lower()


@functools.lru_cache(maxsize=1024)  # parsing costs more than the rest of a decision
def network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text.strip(), strict=False)


@functools.lru_cache(maxsize=4096)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _ip_address(actual: str, wanted: str) -> bool:
    address = _address(actual)
    wanted_net = network(wanted)  # checked when the policy was parsed
    return address is not None and address.version == wanted_net.version and address in wanted_net


_EQ: Final = _string_equals
# Operator -> (the positive comparison, negated?).
OPERATORS: Final[dict[str, tuple[Callable[[str, str], bool], bool]]] = {
    "StringEquals": (_EQ, False),
    "StringNotEquals": (_EQ, True),
    "StringEqualsIgnoreCase": (_string_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_string_equals_ignore_case, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "NumericEquals": (_numeric(lambda a, w: a == w), False),
    "NumericNotEquals": (_numeric(lambda a, w: a == w), True),
    "NumericLessThan": (_numeric(lambda a, w: a < w), False),
    "NumericLessThanEquals": (_numeric(lambda a, w: a <= w), False),
    "NumericGreaterThan": (_numeric(lambda a, w: a > w), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, w: a >= w), False),
    "DateEquals": (_date(lambda a, w: a == w), False),
    "DateNotEquals": (_date(lambda a, w: a == w), True),
    "DateLessThan": (_date(lambda a, w: a < w), False),
    "DateLessThanEquals": (_date(lambda a, w: a <= w), False),
    "DateGreaterThan": (_date(lambda a, w: a > w), False),
    "DateGreaterThanEquals": (_date(lambda a, w: a >= w), False),
    "Bool": (_bool, False),
    "BinaryEquals": (_EQ, False),
    "IpAddress": (_ip_address, False),
    "NotIpAddress": (_ip_address, True),
    "ArnEquals": (_string_like, False),  # AWS: ArnEquals matches wildcards as ArnLike does
    "ArnLike": (_string_like, False),
    "ArnNotEquals": (_string_like, True),
    "ArnNotLike": (_string_like, True),
    "Null": (_bool, False),  # evaluated apart: see Condition.holds
}
QUALIFIERS: Final = ("ForAnyValue", "ForAllValues")
# Keys whose values are IP addresses: their policy values must be addresses or CIDRs.
IP_KEYS: Final = frozenset({"aws:sourceip"})


@dataclass(frozen=True, slots=True)
class Condition:
    operator: str  # an OPERATORS name (without IfExists or a qualifier)
    key: str  # in lower case: keys compare without regard to case
    values: tuple[str, ...]
    if_exists: bool = False
    qualifier: str | None = None  # "ForAnyValue", "ForAllValues" or None

    def holds(self, context: Context) -> bool:
        actual = context.get(self.key)
        if self.operator == "Null":
            absent = not actual
            return any((v.lower() == "true") == absent for v in self.values)
        compare, negated = OPERATORS[self.operator]
        if not actual:
            if self.if_exists or self.qualifier == "ForAllValues":
                return True
            return negated and self.qualifier is None

        def matches(value: str) -> bool:
            return any(compare(value, wanted) for wanted in self.values)

        if self.qualifier == "ForAllValues":
            return all(matches(v) != negated for v in actual)
        if self.qualifier == "ForAnyValue":
            return any(matches(v) != negated for v in actual)
        found = any(matches(v) for v in actual)
        return found != negated


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise PolicyError("This policy contains invalid Json")


def _operator(name: str) -> tuple[str, bool, str | None]:
    """"ForAnyValue:StringLikeIfExists" -> ("StringLike", True, "ForAnyValue")."""
    qualifier, _, base = name.rpartition(":")
    if qualifier and qualifier not in QUALIFIERS:
        raise PolicyError(f"Invalid Condition type : {name}")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base.removesuffix("IfExists")
    if base not in OPERATORS or (if_exists and base == "Null"):
        raise PolicyError(f"Invalid Condition type : {name}")
    return base, if_exists, qualifier or None


def parse_conditions(block: Any) -> tuple[Condition, ...]:
    """A statement's Condition element (a JSON object of operators -> keys -> values)."""
    if not isinstance(block, dict):
        raise PolicyError("This policy contains invalid Json")
    parsed = []
    for name, keys in block.items():
        operator, if_exists, qualifier = _operator(name)
        if not isinstance(keys, dict) or not keys:
            raise PolicyError("This policy contains invalid Json")
        for key, raw in keys.items():
            values = tuple(_text(v) for v in (raw if isinstance(raw, list) else [raw]))
            lowered = key.lower()
            if not lowered.startswith(("aws:", "s3:")) or len(lowered) <= len("s3:"):
                raise PolicyError("Policy has an invalid condition key")
            if not values:
                raise PolicyError("This policy contains invalid Json")
            if lowered in IP_KEYS or operator in ("IpAddress", "NotIpAddress"):
                _check_networks(values)
            parsed.append(Condition(operator, lowered, values, if_exists, qualifier))
    return tuple(parsed)


def _check_networks(values: tuple[str, ...]) -> None:
    for value in values:
        try:
            network(value)
        except ValueError:
            raise PolicyError("Invalid IP address in Conditions") from None
