"""Fake GitHub REST API (v3): organizations, repositories, branch protection, a git database
with real object ids, the contents API, and GitHub's rate limits and error shapes.

Modules: ``platform`` (auth, limits, errors, options), ``repos``, ``protection``, ``git``,
``contents``; ``gitobj`` (git objects), ``model`` (state), ``render`` (JSON shapes).
"""

from sandbox.github.platform import FakeGitHub

__all__ = ["FakeGitHub"]
