"""Background work: the Celery task base, the feature-app registry, the pipeline, engines."""
