"""TTL: ExpiresAt = EventTime + TtlDuration, and expired records are not served."""

import time
from datetime import timedelta

from tests.contract.support import get, iso, now_ms, record


def test_expires_at_is_event_time_plus_ttl(target, rid):
    group = target.group("standard")
    event = now_ms()
    target.rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id=rid, event_time=iso(event)),
        TtlDuration={"Unit": "Hours", "Value": 2},
    )
    response = target.rt.get_record(
        FeatureGroupName=group, RecordIdentifierValueAsString=rid, ExpirationTimeResponse="Enabled"
    )
    assert response["ExpiresAt"] == iso(event + timedelta(hours=2))
    plain = target.rt.get_record(FeatureGroupName=group, RecordIdentifierValueAsString=rid)
    assert "ExpiresAt" not in plain


def test_the_group_default_ttl_applies_and_a_record_ttl_wins(target, rid):
    group = target.group("default-ttl")  # 7 days
    event = now_ms()
    for suffix, ttl in (("group", None), ("record", {"Unit": "Minutes", "Value": 30})):
        kwargs = {"TtlDuration": ttl} if ttl else {}
        target.rt.put_record(
            FeatureGroupName=group,
            Record=record(customer_id=f"{rid}-{suffix}", event_time=iso(event)),
            **kwargs,
        )
    expires = {
        suffix: target.rt.get_record(
            FeatureGroupName=group,
            RecordIdentifierValueAsString=f"{rid}-{suffix}",
            ExpirationTimeResponse="Enabled",
        )["ExpiresAt"]
        for suffix in ("group", "record")
    }
    assert expires == {
        "group": iso(event + timedelta(days=7)),
        "record": iso(event + timedelta(minutes=30)),
    }


def test_an_expired_record_is_no_longer_served(target, rid):
    group = target.group("standard")
    target.rt.put_record(
        FeatureGroupName=group,
        Record=record(customer_id=rid, event_time=iso(now_ms())),
        TtlDuration={"Unit": "Seconds", "Value": 2},
    )
    deadline = time.monotonic() + 2 + target.expiry_grace_s
    while get(target, group, rid) is not None:
        assert time.monotonic() < deadline, "still served after its expiry and the grace"
        time.sleep(0.5)
