"""Readers of files and digit sets that data sources build on: IDX/MNIST, download, checks."""
