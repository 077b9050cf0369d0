"""Storage: the database engine, the models and their encrypted columns, Alembic migrations, retries, the SQLite fair lock and PostgreSQL checkpoints."""
