"""What a training loop reads: the encoded examples, in memory or streamed from a file too big for memory."""
