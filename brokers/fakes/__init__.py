"""Loopback broker fakes (Kite Connect, SmartAPI) for tests and the sandbox; see book.py, kite.py, angel.py."""
