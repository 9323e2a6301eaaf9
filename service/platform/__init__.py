"""What differs between Linux, macOS and Windows, in one place: processes, the parent watchdog, the data
directory's lock, default folders, finding Blender and stop signals (the desktop notification and power-off
commands live with the notifier, in service/notify). Every module imports on every system; what only one
system has is reached behind ``sys.platform`` checks (ctypes, never fcntl or resource)."""
