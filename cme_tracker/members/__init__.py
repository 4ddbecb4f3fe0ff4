"""Members: physicians, dentists and guests with their names and registry numbers."""
