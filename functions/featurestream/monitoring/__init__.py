"""What the stream functions measure about the features they write: freshness and data quality."""
