"""The stream path: a Kinesis record batch in, validated events transformed and written to
the Feature Store, the invalid ones quarantined with a reason."""
