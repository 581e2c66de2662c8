"""GitHub client (PyGithub) with every request audited."""
