"""The API toolkit every app uses: error dialects, pagination, ids, soft delete, health."""
