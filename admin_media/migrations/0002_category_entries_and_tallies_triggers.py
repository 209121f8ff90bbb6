"""Statement-level triggers that keep ``admin_media_category_entries`` and
``admin_media_tallies`` exact for every write to ``admin_media`` (models.py says why).

Each trigger hands the rows that left the live set and the rows that entered it to
``admin_media_apply``; an UPDATE that changed none of the columns they key on (a new
``url``, ``meta``, ``updated_at``) hands over nothing. Counters are upserted in key order,
so concurrent writers lock them in the same order and cannot deadlock on them.
"""

from django.db import migrations

KEYED = ("is_delete", "created_at", "category", "media_type", "type", "aspect_ratio")


def _same(a: str, b: str) -> str:
    return " AND ".join(f"{a}.{c} IS NOT DISTINCT FROM {b}.{c}" for c in ("id", *KEYED))


FORWARD = f"""
CREATE FUNCTION admin_media_apply(removed admin_media[], added admin_media[])
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

CREATE FUNCTION admin_media_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM admin_media_apply(NULL::admin_media[],
                             (SELECT array_agg(n::admin_media) FROM new_rows n));
    RETURN NULL;
END $$;

CREATE FUNCTION admin_media_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM admin_media_apply((SELECT array_agg(o::admin_media) FROM old_rows o),
                             NULL::admin_media[]);
    RETURN NULL;
END $$;

CREATE FUNCTION admin_media_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM admin_media_apply(
        (SELECT array_agg(o::admin_media) FROM old_rows o
         WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE {_same("n", "o")})),
        (SELECT array_agg(n::admin_media) FROM new_rows n
         WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE {_same("n", "o")})));
    RETURN NULL;
END $$;

CREATE FUNCTION admin_media_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM admin_media_category_entries;
    DELETE FROM admin_media_tallies;
    RETURN NULL;
END $$;

CREATE TRIGGER admin_media_inserted AFTER INSERT ON admin_media
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION admin_media_on_insert();
CREATE TRIGGER admin_media_updated AFTER UPDATE ON admin_media
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION admin_media_on_update();
CREATE TRIGGER admin_media_deleted AFTER DELETE ON admin_media
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION admin_media_on_delete();
CREATE TRIGGER admin_media_truncated AFTER TRUNCATE ON admin_media
    FOR EACH STATEMENT EXECUTE FUNCTION admin_media_on_truncate();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS admin_media_inserted ON admin_media;
DROP TRIGGER IF EXISTS admin_media_updated ON admin_media;
DROP TRIGGER IF EXISTS admin_media_deleted ON admin_media;
DROP TRIGGER IF EXISTS admin_media_truncated ON admin_media;
DROP FUNCTION IF EXISTS admin_media_on_insert();
DROP FUNCTION IF EXISTS admin_media_on_update();
DROP FUNCTION IF EXISTS admin_media_on_delete();
DROP FUNCTION IF EXISTS admin_media_on_truncate();
DROP FUNCTION IF EXISTS admin_media_apply(admin_media[], admin_media[]);
"""


class Migration(migrations.Migration):
    dependencies = [("admin_media", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
