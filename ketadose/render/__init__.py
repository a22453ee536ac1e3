"""The shell's output side: terminal tables and machine formats."""
