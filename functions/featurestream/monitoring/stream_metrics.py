"""The stream functions' monitoring, one call per batch: freshness and violation metrics.

Metrics (namespace ``featurestream``, dimension ``FeatureGroup`` = the catalog's group name):

* ``EventFreshness``, ``PipelineFreshness``: seconds, one value per written record (EMF
  values arrays, so CloudWatch computes percentiles; the template alarms on p99 pipeline
  freshness);
* ``FeatureViolations``: count per batch, also with dimension ``Feature``, only for features
  that had one;
* ``ScaledValueViolations``: count per batch (0 included, so the alarm always has data).

A violation is logged with the group, the features' names and counts, never the values.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit

from featurestream.aws.observability import logger, publish_values
from featurestream.contract.catalog import FeatureGroupSpec
from featurestream.monitoring.freshness import event_freshness, pipeline_freshness
from featurestream.monitoring.quality import FeatureValue, QualityChecker, Violations


class StreamMonitor:
    """Freshness and data-quality metrics of one feature group's stream function.

    ``violated`` runs as each record is prepared, so the record's features need not be kept
    until the batch ends (keeping 500 dicts alive costs the garbage collector more than the
    checks); ``measure`` publishes the batch's figures for the records written."""

    def __init__(self, group: FeatureGroupSpec) -> None:
        self.group = group
        self._checker = QualityChecker(group)
        self._dimensions = {"FeatureGroup": group.name}

    def violated(self, features: Mapping[str, FeatureValue]) -> tuple[str, ...]:
        """One record's features that break their catalog rule (``()`` for none)."""
        return self._checker.violated(features)

    def measure(
        self,
        event_times: Sequence[datetime],
        arrivals: Sequence[float | None],
        violated: Sequence[tuple[str, ...]],
        acknowledged_at: float,
    ) -> Violations:
        """Publish the batch's metrics: one entry per written record in each sequence."""
        violations = Violations()
        for names in violated:
            if names:
                self._checker.count(names, violations)
        publish_values(
            {
                "EventFreshness": (
                    MetricUnit.Seconds,
                    event_freshness(event_times, acknowledged_at),
                ),
                "PipelineFreshness": (
                    MetricUnit.Seconds,
                    pipeline_freshness(arrivals, acknowledged_at),
                ),
                "ScaledValueViolations": (MetricUnit.Count, [float(violations.scaled)]),
            },
            dimensions=self._dimensions,
        )
        for feature, count in violations.per_feature.items():
            publish_values(
                {"FeatureViolations": (MetricUnit.Count, [float(count)])},
                dimensions={**self._dimensions, "Feature": feature},
            )
        if violations.per_feature:
            logger.warning(
                "feature values outside their expected rules; records written",
                feature_group=self.group.name,
                violations=dict(violations.per_feature),
                scaled_value_violations=violations.scaled,
            )
        return violations
