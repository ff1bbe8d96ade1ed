"""Built-in task functions, one module each."""
