"""Automation: triggers, the transactional outbox, workers, time rules and actions."""
