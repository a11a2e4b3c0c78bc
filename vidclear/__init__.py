"""vidclear: real-time super-resolution and low-light enhancement for surveillance video."""

__version__ = "0.1.0"
