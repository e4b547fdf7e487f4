"""Alembic migrations shipped inside the package (see callcenter/storage/migrate.py)."""
