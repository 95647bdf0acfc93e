"""Tests of outreach/: protocols, follow-up reminders, navigator tasks, letters,
manager pages, rules.
"""
