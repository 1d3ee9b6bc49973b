"""app_templates package."""
