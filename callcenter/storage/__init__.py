"""Storage: the database engine and sessions, and the schema migrations."""
