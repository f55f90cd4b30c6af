"""Cron schedules: a declared schedule and per-user schedules created at run time."""
