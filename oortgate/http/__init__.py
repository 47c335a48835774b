"""The HTTP side: routing, the ASGI entry point, requests and responses."""
