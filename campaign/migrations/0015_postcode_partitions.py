"""PostcodeArea without a default partition: attaching an import's partition
locks the default one (ACCESS EXCLUSIVE), and every lookup reads it, so lookups
waited for the import's commit. Rows already there (the demo's) move to a
partition per generation; the demo now creates its own
(services/postcode_imports.py: postcode_partition_create)."""

from django.db import migrations

MOVE = """
ALTER TABLE campaign_postcodearea DETACH PARTITION campaign_postcodearea_default;
DO $$
DECLARE g integer;
BEGIN
  FOR g IN SELECT DISTINCT generation FROM campaign_postcodearea_default LOOP
    EXECUTE format('CREATE TABLE campaign_postcodearea_g%s PARTITION OF '
                   'campaign_postcodearea FOR VALUES IN (%s)', g, g);
    EXECUTE format('INSERT INTO campaign_postcodearea_g%s SELECT * FROM '
                   'campaign_postcodearea_default WHERE generation = %s', g, g);
  END LOOP;
END $$;
DROP TABLE campaign_postcodearea_default;
"""
DEFAULT = (
    "CREATE TABLE campaign_postcodearea_default "
    "PARTITION OF campaign_postcodearea DEFAULT"
)


def without_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(MOVE, params=None)  # no %-formatting of format()'s %s


def with_default(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DEFAULT)


class Migration(migrations.Migration):
    dependencies = [("campaign", "0014_letter_counts")]

    operations = [migrations.RunPython(without_default, with_default)]
