"""Writing many rows at once, faster than the ORM's bulk_update for the queue's hot path."""

from __future__ import annotations

from django.db import connection


def update_each(model, rows: list, fields: list[str]) -> None:
    """UPDATE `fields` of every row (model instances carrying their pk) in one statement.

    Values are prepared by the fields themselves, exactly as `save()` would write them. Unlike
    `QuerySet.bulk_update`, which builds a CASE expression per field and row in Python, this
    sends one `UPDATE ... FROM (VALUES ...)` on PostgreSQL (parsed and planned once for all
    rows) and one prepared statement run for every row on SQLite.
    """
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    params = [
        [meta.pk.get_db_prep_save(row.pk, connection)]
        + [field.get_db_prep_save(getattr(row, field.attname), connection) for field in columns]
        for row in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
            sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"
            cursor.executemany(sql, [values[1:] + values[:1] for values in params])
            return
        names = ["pk"] + [f"c{i}" for i in range(len(columns))]
        assignments = ", ".join(
            f"{quote(field.column)} = v.c{i}::{field.db_type(connection)}"
            for i, field in enumerate(columns)
        )
        placeholders = ", ".join(["(" + ", ".join(["%s"] * len(names)) + ")"] * len(rows))
        sql = (
            f"UPDATE {table} SET {assignments} FROM (VALUES {placeholders}) "
            f"AS v({', '.join(names)}) WHERE {table}.{pk} = v.pk::{meta.pk.db_type(connection)}"
        )
        cursor.execute(sql, [value for values in params for value in values])
