"""Pages of the admin console (people); see the package docstring."""
