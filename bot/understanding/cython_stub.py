"""What matching.py reads from the `cython` module where Cython is not installed: there it runs as plain Python."""

compiled = False
