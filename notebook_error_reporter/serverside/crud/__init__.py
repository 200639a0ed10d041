"""The database's reads and admin changes, with no HTTP in them: keyword-only functions taking a
SQLAlchemy session, one module per job. Reports are stored by ``ingest/``, not here. Reads never
select anything about client addresses: the tables have no such column."""
