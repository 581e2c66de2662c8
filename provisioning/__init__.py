"""Provisioning: the steps of each course type, their handlers, the runner and the Celery task."""
