"""Durable state: the farm's store over SQL and its backends, and the Render+ batch store (batches, jobs, saved
frames, events and Blender processes) in the data directory's SQLite file."""
