"""Suspend and resume: an approval, a multi-step form, several reviewers."""
