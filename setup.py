"""Kept for users and tools that still call ``python setup.py``; everything lives in pyproject.toml."""

from setuptools import setup

setup()
