"""Benchmark of Miner Hub's polling cost and scale, side by side with pyasic."""
