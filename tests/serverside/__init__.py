"""Tests of the collection server; a package so its helpers import as ``serverside.live_server``."""
