"""PLAIN storage for the vectors, and the spec's three SQL functions (``supabase.rpc()``
callers of the original keep working against the same database)."""

from django.db import migrations

PLAIN = "ALTER TABLE media_embeddings ALTER COLUMN embedding SET STORAGE PLAIN"
EXTENDED = "ALTER TABLE media_embeddings ALTER COLUMN embedding SET STORAGE EXTENDED"

FUNCTIONS = """
CREATE OR REPLACE FUNCTION filter_media_by_tags(tag_values text[])
RETURNS TABLE (media_id text) LANGUAGE sql STABLE AS $$
  SELECT m.id FROM media m WHERE m.tag_values @> filter_media_by_tags.tag_values
$$;

CREATE OR REPLACE FUNCTION find_similar_media(query_media_id text, match_limit integer DEFAULT 10)
RETURNS TABLE (id text, media_type text, thumbnail_url text, media_url text, title text,
               created_at timestamptz, similarity double precision)
LANGUAGE sql STABLE AS $$
  SELECT m.id, m.media_type, m.thumbnail_url, m.media_url, m.title, m.created_at,
         greatest(0, least(1, 1 - (e.embedding <=> q.embedding)))::double precision
  FROM media_embeddings q
  JOIN media_embeddings e ON e.media_id <> q.media_id
  JOIN media m ON m.id = e.media_id
  WHERE q.media_id = query_media_id
  ORDER BY e.embedding <=> q.embedding
  LIMIT match_limit
$$;

CREATE OR REPLACE FUNCTION get_tag_counts()
RETURNS TABLE (tag_category text, tag_value text, count bigint) LANGUAGE sql STABLE AS $$
  SELECT c.tag_category, c.tag_value, c.count FROM media_tag_counts c WHERE c.count > 0
  ORDER BY c.tag_category, c.count DESC, c.tag_value
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS filter_media_by_tags(text[]);
DROP FUNCTION IF EXISTS find_similar_media(text, integer);
DROP FUNCTION IF EXISTS get_tag_counts();
"""


class Migration(migrations.Migration):
    dependencies = [("ai_media", "0001_initial")]

    operations = [
        migrations.RunSQL(PLAIN, EXTENDED),
        migrations.RunSQL(FUNCTIONS, DROP),
    ]
