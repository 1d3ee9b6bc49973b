"""Routes of the designer (preview); see the package docstring."""
