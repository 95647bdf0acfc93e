"""Management commands of the patients app (see `commands/`)."""
