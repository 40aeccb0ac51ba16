"""The isolation tests import their helpers from minikit.py (tests/ is on sys.path)."""
