"""Channel notifications lose the indexes of body_sha256 and received_at (no query uses either).

Only the indexes are dropped. Django's AlterField would rebuild the whole table on SQLite (a copy
of every stored notification, bodies included) to remove an index; here the database runs one
DROP INDEX per index found on those single columns (with PostgreSQL's `_like` twin), and the
model state changes as AlterField would say. Reversing creates the indexes again.
"""

from django.db import migrations, models

TABLE = "payments_channelnotification"
COLUMNS = ("body_sha256", "received_at")


def drop_indexes(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, TABLE)
    for name, info in sorted(constraints.items()):
        if (info["index"] and not info["unique"] and not info["primary_key"]
                and len(info["columns"]) == 1 and info["columns"][0] in COLUMNS):
            schema_editor.execute(schema_editor.sql_delete_index % {"table": schema_editor.quote_name(TABLE),
                                                                     "name": schema_editor.quote_name(name)})


def create_indexes(apps, schema_editor):
    model = apps.get_model("payments", "ChannelNotification")
    for column in COLUMNS:
        field = model._meta.get_field(column)
        for sql in schema_editor._field_indexes_sql(model, field):
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0007_break_adjustment_approval'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='channelnotification',
                    name='body_sha256',
                    field=models.CharField(max_length=64),
                ),
                migrations.AlterField(
                    model_name='channelnotification',
                    name='received_at',
                    field=models.DateTimeField(),
                ),
            ],
            database_operations=[migrations.RunPython(drop_indexes, create_indexes, elidable=False)],
        ),
    ]
