"""Whatsminer API v3 (TCP 4433): framed JSON, SHA-256 tokens."""
