"""Telling people how a batch went: desktop notification, mail, sound, RSS feed, and power-off after it."""
