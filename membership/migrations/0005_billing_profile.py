"""The billing profile of issue 14: every EU member state as a country, the invoice language
(Spanish for the organizations in Spanish-speaking countries, English for the others)."""

from django.db import migrations, models

SPANISH_SPEAKING = ("ES", "MX")


def invoice_language_from_country(apps, schema_editor):
    Organization = apps.get_model("membership", "Organization")
    Organization.objects.filter(country__in=SPANISH_SPEAKING).update(invoice_language="es")


class Migration(migrations.Migration):

    dependencies = [
        ('membership', '0004_staff_lists_at_scale'),
    ]

    operations = [
        migrations.AddField(
            model_name='organization',
            name='invoice_language',
            field=models.CharField(choices=[('en', 'English'), ('es', 'Spanish')], default='en', help_text="The language of the organization's invoices and credit notes.", max_length=8, verbose_name='invoice language'),
        ),
        migrations.AlterField(
            model_name='organization',
            name='country',
            field=models.CharField(choices=[('AT', 'Austria'), ('BE', 'Belgium'), ('BG', 'Bulgaria'), ('HR', 'Croatia'), ('CY', 'Cyprus'), ('CZ', 'Czechia'), ('DK', 'Denmark'), ('EE', 'Estonia'), ('FI', 'Finland'), ('FR', 'France'), ('DE', 'Germany'), ('GR', 'Greece'), ('HU', 'Hungary'), ('IE', 'Ireland'), ('IT', 'Italy'), ('LV', 'Latvia'), ('LT', 'Lithuania'), ('LU', 'Luxembourg'), ('MT', 'Malta'), ('MX', 'Mexico'), ('NL', 'Netherlands'), ('PL', 'Poland'), ('PT', 'Portugal'), ('RO', 'Romania'), ('SK', 'Slovakia'), ('SI', 'Slovenia'), ('ES', 'Spain'), ('SE', 'Sweden'), ('GB', 'United Kingdom'), ('US', 'United States')], max_length=2, verbose_name='country'),
        ),
        migrations.RunPython(invoice_language_from_country, migrations.RunPython.noop),
    ]
