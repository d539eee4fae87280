"""Lexicon data for vocscore (TSV files); see README.md for the format."""
