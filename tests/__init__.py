"""Tests of Miner Hub."""
