"""Staff groups may reset a partner's second sign-in factor (membership.reset_second_factor):
support agents verify who is asking (docs/sign-in.md), then reset it in the admin."""

from django.db import migrations

PERMISSION = ("membership", "reset_second_factor")
STAFF_GROUPS = ("Support agent", "Billing specialist", "Support lead")


def permission_grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # The permission is new in membership 0003; post_migrate has not created it yet.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label=PERMISSION[0], codename=PERMISSION[1]
    )
    for group in Group.objects.filter(name__in=STAFF_GROUPS):
        group.permissions.add(permission)


def permission_revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for permission in Permission.objects.filter(
        content_type__app_label=PERMISSION[0], codename=PERMISSION[1]
    ):
        for group in Group.objects.filter(name__in=STAFF_GROUPS):
            group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("membership", "0003_second_factor"),
        ("support", "0004_timestamps_from_the_clock"),
    ]

    operations = [migrations.RunPython(permission_grant, permission_revoke)]
