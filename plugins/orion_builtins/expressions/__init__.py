"""Built-in expression engines."""
