"""Requests with a life of their own: prescription renewals, results questions, certificates."""
