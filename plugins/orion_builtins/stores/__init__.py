"""Built-in state stores for governance policies."""
