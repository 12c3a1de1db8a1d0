"""Operations: backup and restore of the embedded installation."""
