"""Benchmarks: detection quality and speed against cleanlab; service load and memory."""
