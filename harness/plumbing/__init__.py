"""Plumbing every layer shares, each piece in one home: waiting with a deadline, JSON-lines
files, files written whole, signal handling, recorded child processes and /proc reads.

Nothing here knows about Terraform, AWS or the harness's runs; everything above reuses it
instead of writing its own loop, reader or handler.
"""
