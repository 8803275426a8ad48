"""The Miner Hub integration."""
