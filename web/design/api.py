"""Routes of the designer (api); see the package docstring."""
