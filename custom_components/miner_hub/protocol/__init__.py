"""Async protocol clients for the miners and pools Miner Hub supports.

This package imports nothing from Home Assistant: it is a small library of its own.
"""
