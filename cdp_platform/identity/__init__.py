"""Identity: standardised records, matching, clustering and stable person ids."""
