"""Delivery: the outbox every reply and notice goes through, and the runner that sends it."""
