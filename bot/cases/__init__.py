"""Cases: the lifecycle, the notices it causes, and the figures leaders read."""
