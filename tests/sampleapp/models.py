"""A side-effect log: every real execution of a test step writes one row (to catch re-runs)."""

from django.db import models


class Invocation(models.Model):
    execution_id = models.CharField(max_length=36, db_index=True)
    key = models.CharField(max_length=255)
    pid = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
