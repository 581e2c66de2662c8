"""Step handlers: each makes its step's resources exist, through :func:`resource_ensure`."""
