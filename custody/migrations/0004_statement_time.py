"""Statements are ordered and filtered by their own time (a 17:30 statement is not yet known at 10:00 of
its day, and a morning statement imported late does not replace the evening one), so the time is a column."""
from datetime import UTC, datetime, time

from django.db import migrations, models


def fill_statement_time(apps, schema_editor):
    """The rule of custody.statement_import.statement_time, as it stands at this migration."""
    StatementImport = apps.get_model("custody", "StatementImport")
    for row in StatementImport.objects.all():
        if row.as_of:
            moment = datetime.fromisoformat(row.as_of)
            row.statement_time = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        else:
            row.statement_time = datetime.combine(row.statement_date, time.max, tzinfo=UTC)
        row.save(update_fields=["statement_time"])


class Migration(migrations.Migration):

    dependencies = [
        ('custody', '0003_console_permissions'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='statementimport',
            name='custody_statement_latest',
        ),
        migrations.AddField(
            model_name='statementimport',
            name='statement_time',
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(fill_statement_time, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='statementimport',
            name='statement_time',
            field=models.DateTimeField(help_text="The statement's own time, in UTC when the file gives no offset; the end of statement_date when it gives no time."),
        ),
        migrations.AddIndex(
            model_name='statementimport',
            index=models.Index(fields=['account_name', '-statement_time', '-event_position'], name='custody_statement_latest'),
        ),
    ]
