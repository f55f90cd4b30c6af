"""Event-triggered workflows: one execution per event, and batches of events."""
