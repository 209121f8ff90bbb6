"""The category entries carry the MIME type and the user too (models.MediaCategoryEntry),
so a category combined with either is one index walk (its page and its count); the
trigger function writes them, and a change of ``supabase_id`` now moves a media's
entries."""

from django.db import migrations, models

KEYED = ("is_delete", "created_at", "category", "media_type", "type", "aspect_ratio",
         "supabase_id")


def _same(a: str, b: str) -> str:
    return " AND ".join(f"{a}.{c} IS NOT DISTINCT FROM {b}.{c}" for c in ("id", *KEYED))


def _same_before(a: str, b: str) -> str:
    return " AND ".join(f"{a}.{c} IS NOT DISTINCT FROM {b}.{c}" for c in ("id", *KEYED[:-1]))


BACKFILL = """
UPDATE admin_media_category_entries e SET mime_type = m.type, supabase_id = m.supabase_id
FROM admin_media m WHERE m.id = e.media_id;
"""

FUNCTIONS = """
CREATE OR REPLACE FUNCTION admin_media_apply(removed admin_media[], added admin_media[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM admin_media_category_entries e
    USING unnest(removed) r, LATERAL unnest(r.category) AS c(category)
    WHERE NOT r.is_delete AND e.category = c.category AND e.created_at = r.created_at
      AND e.media_id = r.id;
    INSERT INTO admin_media_category_entries (category, created_at, media_id, media_type,
                                              mime_type, supabase_id)
    SELECT DISTINCT c.category, a.created_at, a.id, a.media_type, a.type, a.supabase_id
    FROM unnest(added) a, LATERAL unnest(a.category) AS c(category)
    WHERE NOT a.is_delete
    ON CONFLICT DO NOTHING;
    INSERT INTO admin_media_tallies (category, media_type, mime_type, aspect_ratio, count)
    SELECT d.category, d.media_type, d.mime_type, d.aspect_ratio, sum(d.n)
    FROM (
        SELECT x.n, x.media_type, x.type AS mime_type,
               coalesce(x.aspect_ratio, '') AS aspect_ratio, k.category
        FROM (SELECT -1 AS n, r.* FROM unnest(removed) r
              UNION ALL SELECT 1, a.* FROM unnest(added) a) x,
             LATERAL (SELECT '' UNION SELECT unnest(x.category)) AS k(category)
        WHERE NOT x.is_delete
    ) d
    GROUP BY 1, 2, 3, 4 HAVING sum(d.n) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (category, media_type, mime_type, aspect_ratio)
    DO UPDATE SET count = admin_media_tallies.count + EXCLUDED.count;
END $$;

"""

ON_UPDATE = f"""
CREATE OR REPLACE FUNCTION admin_media_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM admin_media_apply(
        (SELECT array_agg(o::admin_media) FROM old_rows o
         WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE {_same("n", "o")})),
        (SELECT array_agg(n::admin_media) FROM new_rows n
         WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE {_same("n", "o")})));
    RETURN NULL;
END $$;

"""

FUNCTIONS_BEFORE = """
CREATE OR REPLACE FUNCTION admin_media_apply(removed admin_media[], added admin_media[])
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM admin_media_category_entries e
    USING unnest(removed) r, LATERAL unnest(r.category) AS c(category)
    WHERE NOT r.is_delete AND e.category = c.category AND e.created_at = r.created_at
      AND e.media_id = r.id;
    INSERT INTO admin_media_category_entries (category, created_at, media_id, media_type)
    SELECT DISTINCT c.category, a.created_at, a.id, a.media_type
    FROM unnest(added) a, LATERAL unnest(a.category) AS c(category)
    WHERE NOT a.is_delete
    ON CONFLICT DO NOTHING;
    INSERT INTO admin_media_tallies (category, media_type, mime_type, aspect_ratio, count)
    SELECT d.category, d.media_type, d.mime_type, d.aspect_ratio, sum(d.n)
    FROM (
        SELECT x.n, x.media_type, x.type AS mime_type,
               coalesce(x.aspect_ratio, '') AS aspect_ratio, k.category
        FROM (SELECT -1 AS n, r.* FROM unnest(removed) r
              UNION ALL SELECT 1, a.* FROM unnest(added) a) x,
             LATERAL (SELECT '' UNION SELECT unnest(x.category)) AS k(category)
        WHERE NOT x.is_delete
    ) d
    GROUP BY 1, 2, 3, 4 HAVING sum(d.n) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (category, media_type, mime_type, aspect_ratio)
    DO UPDATE SET count = admin_media_tallies.count + EXCLUDED.count;
END $$;

"""

ON_UPDATE_BEFORE = f"""
CREATE OR REPLACE FUNCTION admin_media_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM admin_media_apply(
        (SELECT array_agg(o::admin_media) FROM old_rows o
         WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE {_same_before("n", "o")})),
        (SELECT array_agg(n::admin_media) FROM new_rows n
         WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE {_same_before("n", "o")})));
    RETURN NULL;
END $$;

"""


class Migration(migrations.Migration):
    dependencies = [("admin_media", "0002_category_entries_and_tallies_triggers")]

    operations = [
        migrations.AddField(model_name="mediacategoryentry", name="mime_type",
                            field=models.TextField(default=""), preserve_default=False),
        migrations.AddField(model_name="mediacategoryentry", name="supabase_id",
                            field=models.TextField(null=True)),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RunSQL(FUNCTIONS + ON_UPDATE, FUNCTIONS_BEFORE + ON_UPDATE_BEFORE),
        migrations.AddIndex(
            model_name="mediacategoryentry",
            index=models.Index(fields=["category", "media_type", "-created_at", "-media_id"],
                               name="am_entry_media_type")),
        migrations.AddIndex(
            model_name="mediacategoryentry",
            index=models.Index(fields=["category", "mime_type", "-created_at", "-media_id"],
                               name="am_entry_mime")),
        migrations.AddIndex(
            model_name="mediacategoryentry",
            index=models.Index(fields=["category", "supabase_id", "-created_at", "-media_id"],
                               name="am_entry_user")),
    ]
