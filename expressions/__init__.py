"""expressions package."""
