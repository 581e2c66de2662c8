"""Audit trail of every external call and of system events."""
