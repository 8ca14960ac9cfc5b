"""The demo city's 12345 hotline: categories, dispatch matrix, time limits, knowledge base,
a year of requests in every state, and a classifier trained on that history (loader.py)."""
