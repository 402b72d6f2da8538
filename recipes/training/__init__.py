"""Training: the one entry (train), the loops it dispatches to (fit, tape, scratch), their shared configuration and callbacks, and the device strategy."""
