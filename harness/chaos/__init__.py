"""Chaos: transport faults, a TCP proxy with toxics, and scenarios (DESIGN §8)."""
