"""Durable state: batches, jobs, saved frames, events and Blender processes in SQLite."""
