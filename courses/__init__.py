"""Courses and their lab groups: the things staff ask the platform to provision."""
