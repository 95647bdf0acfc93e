"""Browser tests: Playwright driving Chromium through whole journeys, and axe-core
accessibility checks.
"""
