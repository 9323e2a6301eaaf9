"""The farm's rules as plain Python over plain data: no I/O, no database, no clock (time is passed in)."""
