"""SageMaker ``Search`` over feature groups and feature metadata.

Evaluates a ``SearchExpression`` (Filters, NestedFilters, SubExpressions, And/Or) against
plain resource documents. Property paths walk nested objects; ``Parameters.<key>`` and
``Tags.<key>`` address key/value lists; ``AllParameters`` matches any parameter key or value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from devstack.standins.featurestore.errors import cp_validation
from devstack.standins.featurestore.validation import (
    TAG_RE,
    check_enum,
    check_int,
    check_length,
    check_list,
    check_object,
    check_pattern,
)

OPERATORS = (
    "Equals",
    "NotEquals",
    "GreaterThan",
    "GreaterThanOrEqualTo",
    "LessThan",
    "LessThanOrEqualTo",
    "Contains",
    "Exists",
    "NotExists",
    "In",
)
_KEY_VALUE_LISTS = ("Parameters", "Tags")
_NUMERIC_OPERATORS = ("GreaterThan", "GreaterThanOrEqualTo", "LessThan", "LessThanOrEqualTo")


def resolve(resource: dict[str, Any], path: str) -> list[Any]:
    """Every value at ``path`` (lists fan out); empty when the property is absent."""
    if path == "AllParameters":
        params = resource.get("Parameters") or []
        return [p["Key"] for p in params] + [p["Value"] for p in params]
    current: list[Any] = [resource]
    parts = path.split(".")
    i = 0
    while i < len(parts):
        part = parts[i]
        nxt: list[Any] = []
        if part in _KEY_VALUE_LISTS and i + 1 < len(parts):
            key = ".".join(parts[i + 1 :])
            for item in current:
                if isinstance(item, dict):
                    for kv in item.get(part) or []:
                        if kv.get("Key") == key:
                            nxt.append(kv.get("Value"))
            return [v for v in nxt if v is not None]
        for item in current:
            value = item.get(part) if isinstance(item, dict) else None
            if isinstance(value, list):
                nxt.extend(value)
            elif value is not None:
                nxt.append(value)
        current = nxt
        i += 1
    return current


def _as_number(value: Any, path: str) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if path.endswith("Time") and isinstance(value, str):
        text = value.rstrip("Z")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _equal(candidate: Any, value: str, path: str) -> bool:
    if isinstance(candidate, int | float) and not isinstance(candidate, bool):
        number = _as_number(value, path)
        return number is not None and abs(float(candidate) - number) < 1e-6
    return str(candidate) == value


def _check_filter(flt: dict[str, Any]) -> None:
    name = check_length("SearchExpression.Filters.Name", flt.get("Name"), 1, 255, required=True)
    op = check_enum("SearchExpression.Filters.Operator", flt.get("Operator", "Equals"), OPERATORS)
    value = check_length("SearchExpression.Filters.Value", flt.get("Value"), 1, 1024)
    if value is None and op not in ("Exists", "NotExists"):
        raise cp_validation(f"Filter on '{name}' with operator {op} needs a Value")
    if op in _NUMERIC_OPERATORS and _as_number(value, str(name)) is None:
        raise cp_validation(f"Operator {op} needs a numeric or timestamp Value")


def check_expression(expr: Any) -> None:
    """Validate a whole SearchExpression once, before any resource is evaluated: types,
    list sizes (1-20 each), operators, and at most 50 elements in total."""
    pending = [check_object("SearchExpression", expr, required=True)]
    while pending:
        current = pending.pop()
        if current is None:
            continue
        check_enum("SearchExpression.Operator", current.get("Operator", "And"), ("And", "Or"))
        for flt in check_list(
            "SearchExpression.Filters", current.get("Filters"), 1, 20, items=dict
        ):
            _check_filter(flt)
        for nested in check_list(
            "SearchExpression.NestedFilters", current.get("NestedFilters"), 1, 20, items=dict
        ):
            check_length(
                "SearchExpression.NestedFilters.NestedPropertyName",
                nested.get("NestedPropertyName"),
                1,
                255,
                required=True,
            )
            for flt in check_list(
                "SearchExpression.NestedFilters.Filters",
                nested.get("Filters"),
                1,
                20,
                items=dict,
                required=True,
            ):
                _check_filter(flt)
        pending.extend(
            check_list(
                "SearchExpression.SubExpressions", current.get("SubExpressions"), 1, 20, items=dict
            )
        )
    if _count(expr) > 50:
        raise cp_validation(
            "SearchExpression may contain at most 50 Filters, NestedFilters and "
            "SubExpressions in total"
        )


def _matches(resource: dict[str, Any], flt: dict[str, Any]) -> bool:
    """One filter, already checked by :func:`check_expression`."""
    name = str(flt["Name"])
    op = str(flt.get("Operator", "Equals"))
    candidates = resolve(resource, name)
    if op in ("Exists", "NotExists"):
        return bool(candidates) == (op == "Exists")
    value = flt["Value"]
    if op in ("Equals", "NotEquals", "Contains", "In"):
        return _text_match(op, candidates, value, name)
    return _compare(op, candidates, value, name)


def _text_match(op: str, candidates: list[Any], value: str, name: str) -> bool:
    if op == "Contains":
        needle = value.lower()
        return any(needle in str(c).lower() for c in candidates)
    options = [v.strip() for v in value.split(",")] if op == "In" else [value]
    hit = any(_equal(c, o, name) for o in options for c in candidates)
    return not hit if op == "NotEquals" else hit


def _compare(op: str, candidates: list[Any], value: str, name: str) -> bool:
    target = _as_number(value, name)
    if target is None:  # excluded by _check_filter
        return False
    for candidate in candidates:
        number = _as_number(candidate, name)
        if number is None:
            continue
        if (
            (op == "GreaterThan" and number > target)
            or (op == "GreaterThanOrEqualTo" and number >= target)
            or (op == "LessThan" and number < target)
            or (op == "LessThanOrEqualTo" and number <= target)
        ):
            return True
    return False


def _count(expr: dict[str, Any]) -> int:
    """Filters, NestedFilters and SubExpressions at every level (iterative)."""
    total, pending = 0, [expr]
    while pending:
        current = pending.pop()
        subs = current.get("SubExpressions") or []
        total += len(current.get("Filters") or []) + len(current.get("NestedFilters") or [])
        total += len(subs)
        pending.extend(subs)
    return total


def evaluate(resource: dict[str, Any], expr: dict[str, Any]) -> bool:
    """Whether ``resource`` matches ``expr`` (checked by :func:`check_expression`)."""
    op = expr.get("Operator", "And")
    results: list[bool] = [_matches(resource, f) for f in expr.get("Filters") or []]
    for nested in expr.get("NestedFilters") or []:
        items = resolve(resource, str(nested.get("NestedPropertyName", "")))
        results.append(
            any(
                isinstance(item, dict) and all(_matches(item, f) for f in nested["Filters"])
                for item in items
            )
        )
    results.extend(evaluate(resource, sub) for sub in expr.get("SubExpressions") or [])
    if not results:
        return True
    return any(results) if op == "Or" else all(results)


def search(
    resources: list[dict[str, Any]],
    *,
    expression: dict[str, Any] | None,
    sort_by: str | None,
    sort_order: str | None,
    next_token: str | None,
    max_results: int | None,
) -> tuple[list[dict[str, Any]], str | None, int]:
    """Filter, sort and page; returns (page, next token, total hits).

    ``sort_by`` must already be one of the resource's sortable properties (the caller
    knows the resource type); everything else is checked here.
    """
    if expression is not None:
        check_expression(expression)
    order = check_enum("sortOrder", sort_order or "Descending", ("Ascending", "Descending"))
    limit = 10 if max_results is None else check_int("maxResults", max_results, 1, 100)
    start = page_start(next_token)
    hits = [r for r in resources if expression is None or evaluate(r, expression)]
    key_path = sort_by or "LastModifiedTime"

    def sort_key(resource: dict[str, Any]) -> tuple[int, Any]:
        values = resolve(resource, key_path)
        if not values:
            return (1, "")
        first = values[0]
        return (0, first if isinstance(first, int | float) else str(first))

    present = sorted(
        (r for r in hits if resolve(r, key_path)),
        key=sort_key,
        reverse=order == "Descending",
    )
    hits = present + [r for r in hits if not resolve(r, key_path)]
    page = hits[start : start + limit]
    token = str(start + limit) if start + limit < len(hits) else None
    return page, token, len(hits)


def page_start(next_token: Any) -> int:
    """The offset a NextToken from an earlier page stands for (0 without one); anything
    else is a ValidationException (Search and ListFeatureGroups page the same way)."""
    token = check_length("nextToken", next_token, 0, 8192)
    if not token:
        return 0
    if not (token.isascii() and token.isdigit()):
        raise cp_validation("Invalid NextToken: pass the NextToken of the previous page")
    return int(token)


CROSS_ACCOUNT_OPTIONS = ("SameAccount", "CrossAccount")


def check_scope_options(body: dict[str, Any]) -> None:
    """Search's CrossAccountFilterOption and VisibilityConditions: checked against the model
    and then without effect (one account, every resource visible; docs/emulator.md)."""
    option = body.get("CrossAccountFilterOption")
    if option is not None:
        check_enum("crossAccountFilterOption", option, CROSS_ACCOUNT_OPTIONS)
    conditions = body.get("VisibilityConditions")
    if conditions is not None:
        for condition in check_list("visibilityConditions", conditions, 1, 5, items=dict):
            check_pattern("visibilityConditions.member.key", condition.get("Key"), TAG_RE, 1, 128)
            if condition.get("Value") is not None:
                check_pattern(
                    "visibilityConditions.member.value", condition["Value"], TAG_RE, 0, 256
                )
