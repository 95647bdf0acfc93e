"""Template tags of the outreach app: `outreach_tags.py` (the unreachable panel on the
case page)."""
