"""Lambda entry point of the scheduled drift check (an EventBridge rule, daily by default).

For each feature group: the offline store's Glue table (DescribeFeatureGroup), PSI per
numeric feature between the training set's window (first to last label time, from the model
manifest the function ships) and the last ``DRIFT_CURRENT_DAYS`` days, computed by
:mod:`featurestream.monitoring.athena_drift`; published as CloudWatch metrics, which the
template's alarms watch. Lean: botocore clients, no pandas/numpy/scipy.
"""

import os
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from featurestream.aws.clients import client_config, create_client
from featurestream.aws.observability import logger, publish_values
from featurestream.contract.catalog import FEATURE_GROUPS
from featurestream.contract.model_contract import load_contract
from featurestream.monitoring.athena_drift import Athena, TimeWindow, group_drift


def _groups(text: str) -> dict[str, str]:
    """``customers=stack-customers,orders=stack-orders`` → logical → deployed name."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    return {logical.strip(): deployed.strip() for logical, deployed in pairs}


def training_window() -> TimeWindow:
    """The shipped model manifest's training window, its last label time included."""
    recorded = load_contract().training_window()
    if recorded is None:
        raise RuntimeError("the shipped model manifest records no training window; retrain")
    first, last = recorded
    return TimeWindow(first, last + timedelta(milliseconds=1))


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """PSI per feature, as metrics; returns the figures (for a manual invocation)."""
    config = client_config(max_attempts=4, read_timeout=30.0)
    sagemaker = create_client("sagemaker", config)
    athena_client = create_client("athena", config)
    now = datetime.now(UTC)
    baseline = training_window()
    current = TimeWindow(
        now - timedelta(days=float(os.environ.get("DRIFT_CURRENT_DAYS", "7"))), now
    )
    deployed = _groups(os.environ["FEATURE_GROUPS"])
    out: dict[str, Any] = {}
    for group in FEATURE_GROUPS:
        name = deployed.get(group.name)
        if name is None:
            continue
        catalog = sagemaker.describe_feature_group(FeatureGroupName=name)["OfflineStoreConfig"][
            "DataCatalogConfig"
        ]
        athena = Athena(
            athena_client, workgroup=os.environ["ATHENA_WORKGROUP"], database=catalog["Database"]
        )
        figures = group_drift(athena, group, catalog["TableName"], baseline, current)
        for figure in figures:
            series = {"FeaturePSI": (MetricUnit.NoUnit, [figure.psi])}
            if figure.current_mean is not None:
                series["FeatureMean"] = (MetricUnit.NoUnit, [figure.current_mean])
            publish_values(
                series, dimensions={"FeatureGroup": group.name, "Feature": figure.feature}
            )
        if figures:
            publish_values(
                {"MaxFeaturePSI": (MetricUnit.NoUnit, [max(f.psi for f in figures)])},
                dimensions={"FeatureGroup": group.name},
            )
        else:
            logger.warning("no rows to compare in a window", feature_group=group.name)
        out[group.name] = {f.feature: round(f.psi, 6) for f in figures}
    return out
