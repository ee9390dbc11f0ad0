"""Staff groups: Support agent, Billing specialist (may cancel and refund), Support lead."""

from django.db import migrations

AGENT = [
    ("support", "view_servicerequest"),
    ("support", "change_servicerequest"),
    ("support", "view_message"),
    ("support", "add_message"),
    ("support", "view_attachment"),
    ("support", "view_requestchange"),
    ("support", "view_cannedreply"),
    ("support", "view_recommendedsolution"),
    ("membership", "view_organization"),
    ("membership", "view_user"),
    ("billing", "view_subscription"),
    ("billing", "view_subscriptionevent"),
    ("billing", "view_order"),
]

GROUPS = {
    "Support agent": AGENT,
    "Billing specialist": AGENT
    + [
        ("support", "cancel_subscription"),
        ("billing", "view_refund"),
        ("billing", "view_paymentattempt"),
        ("billing", "view_paymentmethod"),
        ("billing", "view_benefitgrant"),
    ],
    "Support lead": AGENT
    + [
        ("support", "add_cannedreply"),
        ("support", "change_cannedreply"),
        ("support", "delete_cannedreply"),
        ("support", "add_recommendedsolution"),
        ("support", "change_recommendedsolution"),
        ("support", "delete_recommendedsolution"),
    ],
}


def groups_create(apps, schema_editor):
    # Permissions are normally created after all migrations ran (post_migrate); create them now
    # so that a fresh database gets its groups filled in this same migration.
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group, _created = Group.objects.get_or_create(name=name)
        for app_label, codename in wanted:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def groups_delete(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(GROUPS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("billing", "0001_initial"),
        ("membership", "0001_initial"),
        ("support", "0002_private_attachments_and_indexes"),
    ]

    operations = [migrations.RunPython(groups_create, groups_delete)]
