"""Roster message contracts: data only, no I/O."""
