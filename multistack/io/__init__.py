"""The doors to the outside: the one runner (where ``--dry`` is decided), tool
discovery, engine queries and their parsing, file reading and atomic writing,
manifests, locks, host ports and console output.
"""
