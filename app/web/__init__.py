"""Server-rendered merchant pages: their controllers (`pages/`), access, layout, styles and templates."""
