"""Entrypoints and what the user sees: train, evaluate, rerun/resume, console, error text."""
