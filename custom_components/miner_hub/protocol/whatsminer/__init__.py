"""MicroBT Whatsminer API clients."""
