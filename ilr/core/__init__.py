"""Plumbing: the params loader, file formats (io), errors, phase timing, profiles."""
