"""Server-rendered pages and their static assets; they call services, never the database."""
