"""Built-in plugins of orion-kernel; each module registers through its own entry point."""
