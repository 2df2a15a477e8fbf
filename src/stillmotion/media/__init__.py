"""Image intake (decode, sniff, validate, fetch safely) and video encode/decode."""
