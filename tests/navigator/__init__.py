"""Tests of navigator/: the case kernel, case services, assignment, team and cover, the
worklist, case pages, the demo.
"""
