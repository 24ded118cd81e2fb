"""Storage: the profile's SQLite database, its schema and its queries.

``database`` opens the file (WAL, busy timeout, IMMEDIATE write transactions) and
runs the migrations of ``migration``; ``feeds``, ``articles``, ``events`` and
``setting`` hold the queries, which take a Session first and return the frozen
records of ``record``. ORM rows from ``schema`` never leave this package.
"""
