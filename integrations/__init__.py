"""Clients for Discord and GitHub, their typed errors and the rate limits shared by every
worker. A plain package, not a Django app: the fake platforms live in ``sandbox``."""
