"""Notifications on the Django side: e-mail and SMS channels, the channels configured in
``POLOS["NOTIFIERS"]``, the dispatcher that calls them after a suspend commits (and updates what they
sent once the suspend is answered), and the Slack endpoints (button clicks, mentions).
"""
