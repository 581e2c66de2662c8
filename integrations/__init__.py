"""Clients for Discord and GitHub, their shared error types, and the sandbox (fake platforms)."""
