"""Built-in governance policies (channels.md §4), one module each."""
