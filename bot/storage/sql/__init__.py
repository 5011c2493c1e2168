"""The SQLAlchemy implementation of storage: tables, one store per area (tenants, feeds, outbox,
chat), engine and migrations (db, migrations/)."""
