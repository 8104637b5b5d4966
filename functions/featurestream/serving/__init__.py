"""The inference path: an HTTP request in, online features read, request-time features
computed, the model endpoint asked, predictions out."""
