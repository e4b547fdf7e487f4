"""Calls as stored: the call rows, their steps, the waiting queue, and the queries on them."""
