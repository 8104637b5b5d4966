"""AWS plumbing shared by the Lambdas: clients, store error classification, per-container
state and observability."""
