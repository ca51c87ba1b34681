"""The loans domain's JSON API controllers (doors): thin, calling the services."""
