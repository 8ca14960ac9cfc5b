"""Hotline pages: resident.py (report, my requests, rating), operator.py (phone console and
knowledge base), desk.py (dispatcher, department and supervisor queues)."""
