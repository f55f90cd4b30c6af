"""Shared queues: a concurrency limit per tenant (concurrency keys) and priorities."""
