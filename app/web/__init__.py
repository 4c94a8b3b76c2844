"""Server-rendered pages: shared layout, styles and the Jinja2 environment."""
