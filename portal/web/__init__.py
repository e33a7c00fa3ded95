"""Web helpers every app's controllers share: API documentation, lookups, forms, files."""
