"""Management commands of the navigator app: `commands/seed_demo.py` loads the demo."""
