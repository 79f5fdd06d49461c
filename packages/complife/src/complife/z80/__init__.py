"""The Z80 and 8080 soups of the paper (§5): text form, engines, replicators."""
