"""After school: graduation confirmation, contact updates, study extension, relief measures."""
