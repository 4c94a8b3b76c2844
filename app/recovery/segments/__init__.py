"""Segments: saved, named sets of conditions on a store's contacts, used as a flow's entry
condition and on each step (docs/automations.md#segments). `rules` is pure; `services` reads."""
