"""What several test modules share: the privacy scan, the malformed-input corpus, the stand-ins, the browser."""
