"""Pages of the admin console (runs); see the package docstring."""
