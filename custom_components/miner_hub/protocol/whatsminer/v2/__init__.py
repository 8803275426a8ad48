"""Whatsminer API v2 (TCP 4028): JSON per connection, md5-crypt tokens, AES."""
