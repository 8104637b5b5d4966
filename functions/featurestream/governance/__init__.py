"""Feature metadata: the catalog's descriptions and parameters applied to deployed groups."""
