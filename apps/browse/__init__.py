"""The media browser page (``/browse/``): server-rendered shell, data from the JSON APIs."""
