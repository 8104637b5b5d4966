"""The suite's own promise: every group it creates is deleted when the session ends."""

from botocore.exceptions import ClientError

from tests.contract.conftest import Target


def test_groups_the_session_created_are_deleted(target):
    scratch = Target(target.name, target.sm, target.rt, target.expiry_grace_s)
    name = scratch.group("standard")
    assert name.startswith("fs-contract-")
    assert scratch.delete_all() == []
    try:
        status = target.sm.describe_feature_group(FeatureGroupName=name)["FeatureGroupStatus"]
    except ClientError as error:
        assert error.response["Error"]["Code"] == "ResourceNotFound"
    else:
        assert status == "Deleting"  # AWS deletes asynchronously
