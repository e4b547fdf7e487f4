"""Alembic migrations shipped inside the package (see callcenter/migrate.py)."""
