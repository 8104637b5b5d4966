"""SageMaker ``Search`` over feature groups and feature metadata.

Evaluates a ``SearchExpression`` (Filters, NestedFilters, SubExpressions, And/Or) against
plain resource documents. Property paths walk nested objects; ``Parameters.<key>`` and
``Tags.<key>`` address key/value lists; ``AllParameters`` matches any parameter key or value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from devstack.featurestore.errors import cp_validation
from devstack.featurestore.validation import check_enum, check_length

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


def _matches(resource: dict[str, Any], flt: dict[str, Any]) -> bool:
    name = flt.get("Name")
    check_length("SearchExpression.Filters.Name", name, 1, 255)
    op = check_enum("SearchExpression.Filters.Operator", flt.get("Operator", "Equals"), OPERATORS)
    candidates = resolve(resource, str(name))
    if op in ("Exists", "NotExists"):
        return bool(candidates) == (op == "Exists")
    value = flt.get("Value")
    if value is None:
        raise cp_validation(f"Filter on '{name}' with operator {op} needs a Value")
    check_length("SearchExpression.Filters.Value", value, 1, 1024)
    if op in ("Equals", "NotEquals", "Contains", "In"):
        return _text_match(op, candidates, value, str(name))
    return _compare(op, candidates, value, str(name))


def _text_match(op: str, candidates: list[Any], value: str, name: str) -> bool:
    if op == "Contains":
        needle = value.lower()
        return any(needle in str(c).lower() for c in candidates)
    options = [v.strip() for v in value.split(",")] if op == "In" else [value]
    hit = any(_equal(c, o, name) for o in options for c in candidates)
    return not hit if op == "NotEquals" else hit


def _compare(op: str, candidates: list[Any], value: str, name: str) -> bool:
    target = _as_number(value, name)
    if target is None:
        raise cp_validation(f"Operator {op} needs a numeric or timestamp Value, got '{value}'")
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
    subs = expr.get("SubExpressions") or []
    return (
        len(expr.get("Filters") or [])
        + len(expr.get("NestedFilters") or [])
        + len(subs)
        + sum(_count(s) for s in subs)
    )


def evaluate(resource: dict[str, Any], expr: dict[str, Any]) -> bool:
    op = check_enum("SearchExpression.Operator", expr.get("Operator", "And"), ("And", "Or"))
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
    """Filter, sort and page; returns (page, next token, total hits)."""
    if expression is not None:
        check_length("SearchExpression.Filters", expression.get("Filters"), 1, 20)
        check_length("SearchExpression.SubExpressions", expression.get("SubExpressions"), 1, 20)
        if _count(expression) > 50:
            raise cp_validation(
                "SearchExpression may contain at most 50 Filters, NestedFilters and "
                "SubExpressions in total"
            )
    order = check_enum("SortOrder", sort_order or "Descending", ("Ascending", "Descending"))
    limit = 10 if max_results is None else max_results
    if not 1 <= limit <= 100:
        raise cp_validation(
            f"1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy "
            "constraint: Member must have value between 1 and 100"
        )
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
    start = 0
    if next_token:
        try:
            start = int(next_token)
        except ValueError:
            raise cp_validation("Invalid NextToken") from None
    page = hits[start : start + limit]
    token = str(start + limit) if start + limit < len(hits) else None
    return page, token, len(hits)
