"""Shepherd's farm worker: it speaks the Flamenco v3 worker protocol to a manager and renders what it is handed."""
