"""The audit trail refuses TRUNCATE too (0004 refuses UPDATE and DELETE row by row; TRUNCATE bypasses row
triggers). `manage.py flush` is therefore refused on a database with an audit trail, which is the point. The
test runner's flush between transactional tests sets `bank.audit_truncate` for its own transaction only (see
conftest.py); nothing in the application sets it.

A database owner can still drop the trigger: in production the application should connect as a role that is
not the table's owner and holds only SELECT and INSERT on bank_auditevent.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("bank", "0004_audit_events"),
    ]

    operations = [
        migrations.RunSQL(
            sql="""
            CREATE FUNCTION bank_auditevent_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF coalesce(current_setting('bank.audit_truncate', true), '') = 'test-runner-flush' THEN
                    RETURN NULL;
                END IF;
                RAISE EXCEPTION 'bank_auditevent is append-only: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$;
            CREATE TRIGGER bank_auditevent_no_truncate BEFORE TRUNCATE ON bank_auditevent
                FOR EACH STATEMENT EXECUTE FUNCTION bank_auditevent_no_truncate();
            """,
            reverse_sql="""
            DROP TRIGGER bank_auditevent_no_truncate ON bank_auditevent;
            DROP FUNCTION bank_auditevent_no_truncate();
            """,
        ),
    ]
