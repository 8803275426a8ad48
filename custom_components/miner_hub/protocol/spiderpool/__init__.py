"""Spiderpool mining-pool REST API v2 client."""
