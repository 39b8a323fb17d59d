"""Counting a database's reads, for tests of answers kept until the next write."""


def counting_reads(db) -> list:
    """A list that gets one item per ``db.read()`` from now on (this database only)."""
    reads = []
    real = db.read

    def read():
        reads.append(1)
        return real()

    db.read = read  # an instance attribute: this database only
    return reads
