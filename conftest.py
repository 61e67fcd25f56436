"""Test set-up shared by every app: real PostgreSQL (the embedded server unless DATABASE_URL is set)."""

import pytest


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings, tmp_path_factory):
    # Trained artifacts written by tests never land in the developer's var/models.
    settings.MODEL_ARTIFACT_DIR = tmp_path_factory.mktemp("models")


@pytest.fixture(autouse=True, scope="session")
def _flush_may_truncate_audit_trail():
    # The audit trail refuses TRUNCATE (bank 0005) unless the transaction says it is the test runner's flush
    # between transactional tests; this is the only place that says so.
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        return ["SET LOCAL bank.audit_truncate = 'test-runner-flush'", *statements] if statements else statements

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", sql_flush)
        yield
