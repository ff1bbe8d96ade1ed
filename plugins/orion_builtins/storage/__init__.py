"""Built-in storage backends."""
