"""Colab's network ranges under their old import path; they live in ``core/colab_ranges.py``."""

from .core.colab_ranges import GOOGLE_PREFIXES, IPNetwork, parse_networks, read_prefix_file, split_prefixes

__all__ = ["GOOGLE_PREFIXES", "IPNetwork", "parse_networks", "read_prefix_file", "split_prefixes"]
