"""Data access of the API: thin functions over the store's repositories (no SQL in routes).

Queries the store does not offer yet are written here and named in the API README.
"""
