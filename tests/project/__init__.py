"""Tests of the project as a whole: settings, Celery configuration and a real worker,
no PHI in logs, the import graph and floors.
"""
