"""Campaign.targets gets an explicit through model on the table the plain
many-to-many field created: state only, no table is rebuilt."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("campaign", "0002_outbox_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CampaignTarget",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "campaign",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="target_links",
                                to="campaign.campaign",
                            ),
                        ),
                        (
                            "official",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="target_links",
                                to="campaign.official",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "campaign_campaign_targets",
                        "unique_together": {("campaign", "official")},
                    },
                ),
                migrations.AlterField(
                    model_name="campaign",
                    name="targets",
                    field=models.ManyToManyField(
                        help_text="Each confirmed signature sends one letter to "
                        "each of these.",
                        related_name="campaigns",
                        through="campaign.CampaignTarget",
                        to="campaign.official",
                    ),
                ),
            ],
            database_operations=[],
        ),
        # Existing targets keep today's behaviour; new ones get the default.
        migrations.AddField(
            model_name="campaigntarget",
            name="delivery_mode",
            field=models.CharField(default="every", max_length=20),
        ),
    ]
