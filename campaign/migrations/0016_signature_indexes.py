# Fewer indexes on campaign_signature, each one work for every sign POST's INSERT
# (bench/README.md): none on status alone (a handful of values, each on a large
# share of rows; the composite and partial indexes lead with what narrows), and
# none for LIKE queries on the token, which unique=True adds on PostgreSQL and
# nothing runs. The token's unique constraint stays as it is: the model now
# names it in Meta, under the name PostgreSQL gave it, so only the state moves.

import campaign.models.signatures
from django.db import migrations, models


# Django's name for it: a hash of the table and column. PostgreSQL only: other
# databases never had it.
LIKE_INDEX = 'campaign_signature_token_bbb44a06_like'


def _lock_timeout(apps, schema_editor):
    # Dropping an index takes an exclusive lock on campaign_signature: quick,
    # but queued behind any long transaction on the table, and every sign POST
    # would queue behind it. Better to fail and run `migrate` again later.
    if schema_editor.connection.vendor == 'postgresql':
        schema_editor.execute("SET LOCAL lock_timeout = '5s'")


def _drop_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == 'postgresql':
        schema_editor.execute(f'DROP INDEX IF EXISTS {LIKE_INDEX}')


def _create_like_index(apps, schema_editor):
    if schema_editor.connection.vendor == 'postgresql':
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {LIKE_INDEX}'
            ' ON campaign_signature (token varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [
        ('campaign', '0015_postcode_partitions'),
    ]

    operations = [
        # First on the way forward, last on the way back (undone in reverse).
        migrations.RunPython(_lock_timeout, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='signature',
            name='status',
            field=models.CharField(
                choices=[
                    ('pending', 'Pending confirmation'),
                    ('confirmed', 'Confirmed'),
                    ('withdrawn', 'Withdrawn'),
                ],
                default='pending',
                max_length=10,
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='signature',
                    name='token',
                    field=models.CharField(
                        default=campaign.models.signatures._new_token,
                        editable=False,
                        max_length=64,
                    ),
                ),
                migrations.AddConstraint(
                    model_name='signature',
                    constraint=models.UniqueConstraint(
                        fields=('token',), name='campaign_signature_token_key'
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(_drop_like_index, _create_like_index),
            ],
        ),
        migrations.RunPython(migrations.RunPython.noop, _lock_timeout),
    ]
