"""inputs layer: what people write by hand, read from disk and checked.

Unlike the configuration (one file, loaded once), these are many small files a
person edits during an incident; each is validated on its own, and one that
cannot be used is reported by name and left out instead of stopping the build.
"""
