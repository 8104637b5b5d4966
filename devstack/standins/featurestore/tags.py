"""AddTags, ListTags and DeleteTags on feature-group ARNs (SageMaker's tagging API).

The tags live in the group's document (where CreateFeatureGroup put them and Search reads
them). Only feature groups exist here, so an ARN naming another kind of SageMaker resource
is refused; an ARN of a feature group that does not exist is ``ResourceNotFound``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from devstack.standins.featurestore.catalog import Catalog
from devstack.standins.featurestore.errors import cp_validation, not_found
from devstack.standins.featurestore.model import FeatureGroup
from devstack.standins.featurestore.search import page_start
from devstack.standins.featurestore.validation import (
    TAG_RE,
    check_int,
    check_list,
    check_pattern,
    check_tags,
)

RESOURCE_ARN_RE = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]*:[0-9]{12}:.+")
MAX_TAGS_PER_RESOURCE = 50  # the model's TagList maximum; AddTags past it is refused
LIST_TAGS_DEFAULT_PAGE = 50  # ListTags' MaxResults has a minimum of 50 and no maximum

Operation = Callable[[dict[str, Any], Any], dict[str, Any]]


class TagOperations:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.operations: dict[str, Operation] = {
            "AddTags": self.add_tags,
            "ListTags": self.list_tags,
            "DeleteTags": self.delete_tags,
        }

    def _group(self, body: dict[str, Any]) -> FeatureGroup:
        arn = check_pattern("resourceArn", body.get("ResourceArn"), RESOURCE_ARN_RE, 0, 256)
        if ":feature-group/" not in arn:
            raise cp_validation(
                "ResourceArn: the local Feature Store emulator tags only feature groups"
            )
        group = self.catalog.get(arn)
        if group is None:
            raise not_found("Resource Not Found: no FeatureGroup has this ARN", status=400)
        return group

    def _save(self, group: FeatureGroup, tags: list[dict[str, str]]) -> None:
        doc = copy.deepcopy(group.doc)
        doc["Tags"] = tags
        # A new object, as UpdateFeatureGroup does: readers keep a consistent view.
        self.catalog.save(FeatureGroup(doc, copy.deepcopy(group.metadata)))

    def add_tags(self, body: dict[str, Any], ctx: Any) -> dict[str, Any]:
        group = self._group(body)
        if body.get("Tags") is None:
            raise cp_validation("Tags is required")
        new = check_tags(body["Tags"])
        merged = {t["Key"]: t["Value"] for t in group.doc.get("Tags", [])}
        for tag in new:
            merged[tag["Key"]] = tag.get("Value", "")
        if len(merged) > MAX_TAGS_PER_RESOURCE:
            raise cp_validation(f"A feature group can have at most {MAX_TAGS_PER_RESOURCE} tags")
        self._save(group, [{"Key": k, "Value": v} for k, v in merged.items()])
        return {"Tags": [{"Key": t["Key"], "Value": t.get("Value", "")} for t in new]}

    def list_tags(self, body: dict[str, Any], ctx: Any) -> dict[str, Any]:
        group = self._group(body)
        limit = body.get("MaxResults", LIST_TAGS_DEFAULT_PAGE)
        check_int("maxResults", limit, 50, 2**31 - 1)
        start = page_start(body.get("NextToken"))
        tags = list(group.doc.get("Tags", []))
        out: dict[str, Any] = {"Tags": tags[start : start + limit]}
        if start + limit < len(tags):
            out["NextToken"] = str(start + limit)
        return out

    def delete_tags(self, body: dict[str, Any], ctx: Any) -> dict[str, Any]:
        group = self._group(body)
        keys = check_list("tagKeys", body.get("TagKeys"), 1, 50, items=str, required=True)
        for key in keys:
            check_pattern("tagKeys.member", key, TAG_RE, 1, 128)
        gone = set(keys)
        self._save(group, [t for t in group.doc.get("Tags", []) if t["Key"] not in gone])
        return {}
