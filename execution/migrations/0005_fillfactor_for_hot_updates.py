"""Leave room in each page of the tables the engine updates right after inserting (an order is written as an
intent, then marked SENT, then given its result; a position is created, then filled), so PostgreSQL can
update those rows in place (HOT) without touching their indexes. PostgreSQL only; a no-op elsewhere."""

from django.db import migrations

TABLES = ["execution_order", "execution_position", "execution_execution"]


def set_fillfactor(factor):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in TABLES:
            schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} SET (fillfactor = {factor})")

    return run


class Migration(migrations.Migration):
    dependencies = [("execution", "0004_batch_dispatch_tokens")]

    operations = [migrations.RunPython(set_fillfactor(70), set_fillfactor(100))]
