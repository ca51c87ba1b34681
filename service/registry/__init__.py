"""Universities, students and co-borrowers: shared by loans and donations."""
