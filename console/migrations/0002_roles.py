"""Role groups operator / approver / auditor with their permissions (see console/roles.py)."""
from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from console.roles import sync_roles

    # Permissions are normally created after the whole migrate run; create them now so the groups get them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True  # historical app configs carry None, which create_permissions skips
        create_permissions(app_config, verbosity=0, using=schema_editor.connection.alias, apps=apps)
        app_config.models_module = None
    sync_roles(apps=apps, using=schema_editor.connection.alias)


def delete_roles(apps, schema_editor):
    from console.roles import remove_roles

    remove_roles(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("ledger", "0002_database_invariants"),
        ("custody", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
