"""The web app: staff dashboard, public progress pages, JSON API and Open311 (routes are added to the service's aiohttp app)."""
