"""The staff console and portals (server-rendered pages)."""
