"""End-to-end tests: the real CLI against a real Docker engine and PM2 (marked e2e)."""
