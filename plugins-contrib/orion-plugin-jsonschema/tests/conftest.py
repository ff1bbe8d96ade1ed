pytest_plugins = ["orion_kernel.testing"]
