"""Indexing stage: parse documents into articles, chunk them, embed, and store the index."""
