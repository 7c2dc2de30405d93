"""The bottom layer: errors and the formula-injection guard every writer uses; no knowledge of CLD."""
