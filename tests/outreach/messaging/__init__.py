"""Tests of outreach/messaging/: patient messages scheduled, sent, stopped and
answered, and their faults.
"""
