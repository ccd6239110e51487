"""Custom code of tenant 'project_01'."""
