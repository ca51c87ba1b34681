"""Zizhu shared kernel and composition root."""
