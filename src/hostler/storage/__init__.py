"""Durable state in SQL databases: tables, repositories, migrations, and the Store on top."""
