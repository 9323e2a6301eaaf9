"""What differs between Linux, macOS and Windows, in one place: processes, the parent watchdog, the data
directory's lock, default folders, finding Blender, signals and the desktop. Every module imports on every
system; what only one system has is reached behind ``sys.platform`` checks (ctypes, never fcntl or resource).
"""
