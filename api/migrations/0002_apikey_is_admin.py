from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="is_admin",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Sees and acts on every course, not only those it created. Give it sparingly."
                ),
                verbose_name="admin key",
            ),
        ),
    ]
