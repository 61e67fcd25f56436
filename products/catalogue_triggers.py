"""The triggers that keep products.CatalogueVersion current, installed by migrations.

A migration that adds or renames a product column runs `install` again
(`migrations.RunPython(catalogue_triggers.install, catalogue_triggers.uninstall)`), so that the update trigger
lists the new column too (`products/tests/test_catalogue_version.py` fails until it does).
"""

from __future__ import annotations

from typing import Any

FUNCTION = "products_catalogue_changed"
ON_UPDATE = "products_catalogue_changed_on_update"
ON_WRITE = "products_catalogue_changed_on_write"


def watched_columns(product_model: Any) -> list[str]:
    """The product columns whose update changes the catalogue: all but the search document and embeddings."""
    from products.models import SEARCH_COLUMNS

    return [f.column for f in product_model._meta.concrete_fields if f.column not in SEARCH_COLUMNS]


def install(apps: Any, schema_editor: Any) -> None:
    product = apps.get_model("products", "Product")
    state = apps.get_model("products", "CatalogueVersion")
    q = schema_editor.quote_name
    table, version_table = q(product._meta.db_table), q(state._meta.db_table)
    columns = ", ".join(q(c) for c in watched_columns(product))
    for statement in (
        # Statement-level: one bump per statement however many rows it wrote; an upsert, so a flushed table (tests)
        # gets its row back with the next change. clock_timestamp(): when the change was made, not when its
        # transaction began.
        f"""CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO {version_table} (id, version, changed_at) VALUES (1, 1, clock_timestamp())
                ON CONFLICT (id) DO UPDATE
                    SET version = {version_table}.version + 1, changed_at = EXCLUDED.changed_at;
                RETURN NULL;
            END $$""",  # nosec B608  # names quoted from the models' metadata and module constants; no values
        f"DROP TRIGGER IF EXISTS {ON_UPDATE} ON {table}",
        f"DROP TRIGGER IF EXISTS {ON_WRITE} ON {table}",
        f"""CREATE TRIGGER {ON_UPDATE} AFTER UPDATE OF {columns} ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()""",
        f"""CREATE TRIGGER {ON_WRITE} AFTER INSERT OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()""",
        f"""INSERT INTO {version_table} (id, version, changed_at) VALUES (1, 1, clock_timestamp())
            ON CONFLICT (id) DO NOTHING""",  # nosec B608  # a name quoted from the model's metadata; no values
    ):
        schema_editor.execute(statement)


def uninstall(apps: Any, schema_editor: Any) -> None:
    table = schema_editor.quote_name(apps.get_model("products", "Product")._meta.db_table)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {ON_UPDATE} ON {table}")
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {ON_WRITE} ON {table}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
