"""Notification channels: the in-app inbox, e-mail, and WeCom / DingTalk / Feishu robots.

Each channel module registers itself in :mod:`runtime.automation.channels.base` when
imported; :func:`runtime.automation.channels.base.load_builtin_channels` imports them all.
"""
