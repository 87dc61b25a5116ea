"""Alembic migrations of the store's schema, shipped inside the package (run by `kizuna.store.migrate`)."""
