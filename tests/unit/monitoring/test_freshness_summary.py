"""p50/p99 freshness per group from EMF lines, as the demo and `local status` print them."""

import json

from monitoring.freshness_summary import collect, percentile, summarize


def doc(group, pipeline, event, ts=1000):
    return json.dumps(
        {
            "_aws": {"Timestamp": ts, "CloudWatchMetrics": []},
            "FeatureGroup": group,
            "PipelineFreshness": pipeline,
            "EventFreshness": event,
        }
    )


def test_nearest_rank_percentiles():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0


def test_values_are_gathered_per_group_across_documents_and_dated(tmp_path):
    lines = [
        doc("orders", [1.0, 2.0], [10.0, 20.0]),
        '{"level": "INFO", "message": "batch processed"}',
        "not json",
        doc("orders", [3.0], [30.0]),
        doc("customers", [0.5], [5.0]),
        doc("orders", [99.0], [99.0], ts=10),  # before the run
    ]
    groups = collect(lines, since_ms=500)
    assert groups["orders"].values == {
        "PipelineFreshness": [1.0, 2.0, 3.0],
        "EventFreshness": [10.0, 20.0, 30.0],
    }
    log = tmp_path / "handlers.log"
    log.write_text("\n".join(lines) + "\n")
    out = summarize(log, since_ms=500)
    assert out[0].startswith("customers")
    assert "PipelineFreshness p50 2.00 s p99 3.00 s" in out[1]
    assert "EventFreshness p50 20.00 s p99 30.00 s" in out[1]
    assert summarize(tmp_path / "missing.log") == ["freshness: no handler log yet"]
