"""Users, workspaces and their members, API keys, and how requests authenticate."""
