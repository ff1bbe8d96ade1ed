"""HTTP surface: the aiohttp application, its middleware, and the admin, data and ops routes."""
