"""The engine: compiled snapshots of everything active, and the executor that runs them."""
