"""briefbot: keeps living briefs current."""

__version__ = "0.1.0"
