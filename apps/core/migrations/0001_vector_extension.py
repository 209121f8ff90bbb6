from django.contrib.postgres.operations import CreateExtension
from django.db import migrations


class Migration(migrations.Migration):
    """pgvector, needed by ai_media embeddings; created once for the whole database."""

    initial = True
    dependencies: list = []
    operations = [CreateExtension("vector")]
